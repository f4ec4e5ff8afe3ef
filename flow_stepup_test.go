package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// stepUp is a step-up as the APIs answer it.
type stepUp struct {
	ID          string
	State       string
	Action      string
	Reason      string
	OpenID      string  `json:"openid"`
	CompletedAt *string `json:"completed_at"`
	Face        *struct {
		ConsentVersion string `json:"consent_version"`
		VerifyID       string `json:"verify_id"`
	}
}

// TestStepUpOnEveryBackend: a business system asks a verified user for a
// face check before an action; the Mini Program runs it for the stored
// identity (nothing typed); passed and failed reach the business system
// in the step-up's state and as events; a user not verified is refused.
func TestStepUpOnEveryBackend(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startService(t, b, func(c *config.Config) { c.Face = "required" })
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			keys := apikey.New(apikey.Deps{DB: s.db, Trail: store.New(s.db, clock.System{}, quiet), PerSecond: 1, Apps: []string{sandbox.SandboxAppID}, Clock: clock.System{}, Log: quiet})
			_, key, err := keys.Create(t.Context(), "bank", apikey.Scopes(), "", "test")
			if err != nil {
				t.Fatal(err)
			}
			token := s.login(t, "stepup-user")
			photos(t, s, token, cardByKey(t, "male"))
			call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, nil)
			f := startFace(t, s, token, "face-v1")
			playFace(t, s, f.Face.VerifyID, 10000)
			if v := faceResult(t, s, token); v.State != "verified" {
				t.Fatalf("verified by face: %+v", v)
			}
			var u model.User
			s.db.Raw("SELECT users.* FROM users JOIN verifications v ON v.user_id = users.id WHERE v.id = ?", f.ID).Scan(&u)
			create := s.url + "/server/v1/users/" + u.OpenID + "/stepups"

			pass := newStepUp(t, s, create, key, "withdrawal")
			var mine stepUp
			if st := call(t, "GET", s.url+"/api/v1/stepups/"+pass.ID, token, nil, &mine); st != http.StatusOK || mine.State != "pending" ||
				mine.Face == nil || mine.Face.ConsentVersion != "face-v1" {
				t.Fatalf("the user's step-up: %d %+v", st, mine)
			}
			if st := call(t, "POST", s.url+"/api/v1/stepups/"+pass.ID+"/face", token, map[string]any{}, &mine); st != http.StatusOK || mine.Face.VerifyID == "" {
				t.Fatalf("step-up face: %d %+v", st, mine)
			}
			playFace(t, s, mine.Face.VerifyID, 10000)
			if st := call(t, "POST", s.url+"/api/v1/stepups/"+pass.ID+"/result", token, map[string]any{}, &mine); st != http.StatusOK || mine.State != "passed" {
				t.Fatalf("step-up result: %d %+v", st, mine)
			}
			got := serverStepUp(t, s, key, pass.ID)
			if got.State != "passed" || got.CompletedAt == nil || got.Action != "withdrawal" {
				t.Fatalf("the business system's view: %+v", got)
			}
			ev, cursor, _ := pullUntil(t, s, key, "", "stepup.passed", u.OpenID)
			if ev.Data["stepup_id"] != pass.ID || ev.Data["action"] != "withdrawal" {
				t.Fatalf("stepup.passed event: %+v", ev)
			}

			fail := newStepUp(t, s, create, key, "change_phone")
			call(t, "POST", s.url+"/api/v1/stepups/"+fail.ID+"/face", token, map[string]any{}, &mine)
			playFace(t, s, mine.Face.VerifyID, 10004)
			call(t, "POST", s.url+"/api/v1/stepups/"+fail.ID+"/result", token, map[string]any{}, &mine)
			if got := serverStepUp(t, s, key, fail.ID); got.State != "failed" || got.Reason != "face_mismatch" {
				t.Fatalf("another face: %+v", got)
			}
			if ev, _, _ := pullUntil(t, s, key, cursor, "stepup.failed", u.OpenID); ev.Data["stepup_id"] != fail.ID {
				t.Fatalf("stepup.failed event: %+v", ev)
			}
			// A step-up left past its ttl ends as expired, and cannot start.
			late := newStepUp(t, s, create, key, "withdrawal")
			s.clk.Advance(11 * time.Minute)
			if got := serverStepUp(t, s, key, late.ID); got.State != "expired" || got.CompletedAt == nil {
				t.Fatalf("past its ttl: %+v", got)
			}
			if st := call(t, "POST", s.url+"/api/v1/stepups/"+late.ID+"/face", token, map[string]any{}, nil); st != http.StatusConflict {
				t.Errorf("a face check of an expired step-up: %d", st)
			}
			// Another user cannot see the step-up; a user not verified gets none.
			other := s.login(t, "stepup-other")
			if st := call(t, "GET", s.url+"/api/v1/stepups/"+pass.ID, other, nil, nil); st != http.StatusNotFound {
				t.Errorf("another user's step-up: %d", st)
			}
			var o model.User
			s.db.Where("open_id LIKE ?", "%stepup-other%").Take(&o)
			if st, raw := serverCall(t, "POST", s.url+"/server/v1/users/"+o.OpenID+"/stepups", key, map[string]string{"action": "withdrawal"}); st != http.StatusConflict && st != http.StatusNotFound {
				t.Errorf("a step-up of a user not verified: %d %s", st, raw)
			}
			if st, _ := serverCall(t, "POST", create, key, map[string]string{"action": "Withdraw money!"}); st != http.StatusBadRequest {
				t.Errorf("a free-text action: %d", st)
			}
			resp, err := http.Get(s.url + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`realname_stepups_total{state="passed"} 1`, `realname_stepups_total{state="failed"} 1`,
				`realname_stepups_total{state="expired"} 1`, `realname_face_results_total{outcome="passed",provider="wechat"}`} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

func newStepUp(t *testing.T, s *service, url, key, action string) stepUp {
	t.Helper()
	st, raw := serverCall(t, "POST", url, key, map[string]string{"action": action, "ttl": "10m"})
	var su stepUp
	json.Unmarshal(raw, &su)
	if st != http.StatusCreated || su.State != "pending" || len(su.ID) < 10 {
		t.Fatalf("create step-up: %d %s", st, raw)
	}
	return su
}

func serverStepUp(t *testing.T, s *service, key, id string) stepUp {
	t.Helper()
	st, raw := serverCall(t, "GET", s.url+"/server/v1/stepups/"+id, key, nil)
	var su stepUp
	json.Unmarshal(raw, &su)
	if st != http.StatusOK {
		t.Fatalf("server step-up: %d %s", st, raw)
	}
	return su
}
