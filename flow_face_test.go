package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/testdata/idcard"
)

// faceView is a person's view with the face step.
type faceView struct {
	personView
	Mode string
	Face *struct {
		ConsentVersion string `json:"consent_version"`
		VerifyID       string `json:"verify_id"`
		ExpiresAt      string `json:"expires_at"`
		Last, Cause    string
	}
}

// checkCalls counts the sandbox's paid name/ID checks.
func checkCalls(t *testing.T, s *service) int {
	n := 0
	for k, v := range s.calls(t) {
		if strings.Contains(k, "acedata") && !strings.Contains(k, "ocr") {
			n += v
		}
	}
	return n
}

// playFace makes the sandbox's WeChat client side finish the check of
// verifyID with ret, as the user's phone would.
func playFace(t *testing.T, s *service, verifyID string, ret int) {
	t.Helper()
	if st := call(t, "POST", s.sandbox+"/_sandbox/wechat/face", "", map[string]any{"verify_id": verifyID, "verify_ret": ret}, nil); st >= 300 {
		t.Fatalf("play face %d: %d", ret, st)
	}
}

func startFace(t *testing.T, s *service, token string, consent string) faceView {
	t.Helper()
	var v faceView
	body := map[string]string{}
	if consent != "" {
		body["consent_version"] = consent
	}
	if st := call(t, "POST", s.url+"/api/v1/verification/face", token, body, &v); st != http.StatusOK || v.Face == nil || v.Face.VerifyID == "" {
		t.Fatalf("start face: %d %+v", st, v)
	}
	return v
}

func faceResult(t *testing.T, s *service, token string) faceView {
	t.Helper()
	var v faceView
	if st := call(t, "POST", s.url+"/api/v1/verification/face/result", token, map[string]any{}, &v); st != http.StatusOK {
		t.Fatalf("face result: %d %+v", st, v)
	}
	return v
}

// TestFaceVerificationOnEveryBackend walks the face check (人脸核身) through
// the API against the sandbox's WeChat: required mode by photo and by
// /check (no paid name/ID check), the separate consent, a cancel then a
// new verify_id, a face that is not the holder's, two result calls at
// once deciding once, erasure while waiting; fallback mode settling a
// no_record case by face.
func TestFaceVerificationOnEveryBackend(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startService(t, b, func(c *config.Config) { c.Face = "required" })
			t.Run("required_photo", func(t *testing.T) { faceRequiredPhoto(t, s) })
			t.Run("required_check", func(t *testing.T) { faceRequiredCheck(t, s) })
			t.Run("not_the_holder", func(t *testing.T) { faceNotTheHolder(t, s) })
			t.Run("erased_while_waiting", func(t *testing.T) { faceErased(t, s) })
			t.Run("expired_verify_id", func(t *testing.T) { faceExpired(t, s) })
			fb := startService(t, b, func(c *config.Config) { c.Face = "fallback" })
			t.Run("fallback_no_record", func(t *testing.T) { faceFallback(t, fb) })
			// No clear name or number in any table (face_checks included) or log line.
			cards, _ := idcard.Cards()
			for _, svc := range []*service{s, fb} {
				for where, h := range map[string]string{"tables": modeltest.Dump(t, svc.db), "logs": svc.logs.String()} {
					for _, c := range cards {
						if strings.Contains(h, c.IDNumber) || strings.Contains(h, c.Name) {
							t.Errorf("%s of card %s in clear in the %s", "the name or number", c.Key, where)
						}
					}
				}
			}
		})
	}
}

func faceRequiredPhoto(t *testing.T, s *service) {
	token := s.login(t, "face-photo")
	c := cardByKey(t, "male")
	photos(t, s, token, c)
	paid := checkCalls(t, s)
	var v faceView
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &v); st != http.StatusOK ||
		v.State != "face_pending" || v.NextAction != "face" || v.Face == nil || v.Face.ConsentVersion != "face-v1" {
		t.Fatalf("submit in required mode: %d %+v", st, v)
	}
	var e personView
	if st := call(t, "POST", s.url+"/api/v1/verification/face", token, map[string]any{}, &e); st != http.StatusUnprocessableEntity || e.Error.Code != "face_consent_required" {
		t.Fatalf("face without consent: %d %+v", st, e)
	}
	first := startFace(t, s, token, "face-v1")
	// The user cancels on the phone: still waiting, said why, a new one may start.
	playFace(t, s, first.Face.VerifyID, 90002)
	v = faceResult(t, s, token)
	if v.State != "face_pending" || v.NextAction != "face" || v.Face.Last != "not_finished" || v.Face.Cause != "cancelled" || !strings.Contains(v.Message, "取消") {
		t.Fatalf("after a cancel: %+v", v)
	}
	second := startFace(t, s, token, "") // consent given before
	if second.Face.VerifyID == first.Face.VerifyID {
		t.Fatal("a retry reused the verify_id")
	}
	playFace(t, s, second.Face.VerifyID, 10000)
	// Two result calls at once decide once.
	var wg sync.WaitGroup
	views := make([]faceView, 2)
	for i := range views {
		wg.Add(1)
		go func() { defer wg.Done(); views[i] = faceResult(t, s, token) }()
	}
	wg.Wait()
	for _, got := range views {
		if got.State != "verified" || got.Mode != "photo_face" {
			t.Fatalf("face passed: %+v", got)
		}
	}
	if n := checkCalls(t, s); n != paid {
		t.Errorf("required mode paid %d name/ID checks", n-paid)
	}
	var decided int64
	s.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", views[0].ID, "decided").Count(&decided)
	if decided != 1 {
		t.Errorf("%d decisions written, want 1", decided)
	}
	var checks []model.FaceCheck
	s.db.Where("verification_id = ?", views[0].ID).Order("id").Find(&checks)
	if len(checks) != 2 || checks[0].Outcome != "not_finished:cancelled" || checks[1].Outcome != "passed" {
		t.Fatalf("face checks recorded: %+v", checks)
	}
}

func faceRequiredCheck(t *testing.T, s *service) {
	token := s.login(t, "face-check")
	c := cardByKey(t, "female")
	var v faceView
	if st := call(t, "POST", s.url+"/api/v1/verification/check", token,
		map[string]any{"name": c.Name, "id_number": c.IDNumber, "consent_version": "v1"}, &v); st != http.StatusOK || v.State != "face_pending" {
		t.Fatalf("check in required mode: %d %+v", st, v)
	}
	f := startFace(t, s, token, "face-v1")
	playFace(t, s, f.Face.VerifyID, 10000)
	if v = faceResult(t, s, token); v.State != "verified" || v.Mode != "check_face" {
		t.Fatalf("check then face: %+v", v)
	}
	// Asked again, the decision is answered as it stands.
	if again := faceResult(t, s, token); again.State != "verified" {
		t.Fatalf("result asked again: %+v", again)
	}
}

func faceNotTheHolder(t *testing.T, s *service) {
	token := s.login(t, "face-other")
	photos(t, s, token, cardByKey(t, "longterm"))
	call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, nil)
	f := startFace(t, s, token, "face-v1")
	playFace(t, s, f.Face.VerifyID, 10004)
	if v := faceResult(t, s, token); v.State != "rejected" || v.Reason != "face_mismatch" {
		t.Fatalf("another face: %+v", v)
	}
}

func faceErased(t *testing.T, s *service) {
	token := s.login(t, "face-erase")
	photos(t, s, token, cardByKey(t, "xdigit"))
	call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, nil)
	f := startFace(t, s, token, "face-v1")
	if st := call(t, "DELETE", s.url+"/api/v1/verification", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("erase: %d", st)
	}
	var n int64
	s.db.Model(&model.FaceCheck{}).Where("verify_id = ?", f.Face.VerifyID).Count(&n)
	if n != 0 {
		t.Error("the face check survived the erasure")
	}
	playFace(t, s, f.Face.VerifyID, 10000)
	var v faceView
	if st := call(t, "POST", s.url+"/api/v1/verification/face/result", token, map[string]any{}, &v); st != http.StatusOK || v.State != "erased" {
		t.Fatalf("result after erasure: %d %+v", st, v)
	}
}

func faceFallback(t *testing.T, s *service) {
	token := s.login(t, "face-fallback")
	c := cardByKey(t, "norecord")
	photos(t, s, token, c)
	var v faceView
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &v); st != http.StatusOK ||
		v.State != "face_pending" || v.Reason != "no_record" || v.NextAction != "face" || strings.Contains(v.Message, "人工") {
		t.Fatalf("no_record in fallback mode: %d %+v", st, v)
	}
	f := startFace(t, s, token, "face-v1")
	playFace(t, s, f.Face.VerifyID, 10000)
	if v = faceResult(t, s, token); v.State != "verified" {
		t.Fatalf("fallback settled by face: %+v", v)
	}
	// Declining sends another such case to staff.
	other := s.login(t, "face-decline")
	photos(t, s, other, c)
	call(t, "POST", s.url+"/api/v1/verification/submit", other, map[string]any{}, nil)
	if st := call(t, "POST", s.url+"/api/v1/verification/face/decline", other, map[string]any{}, &v); st != http.StatusOK || v.State != "review" || v.Reason != "no_record" {
		t.Fatalf("declined: %d %+v", st, v)
	}
}

func faceExpired(t *testing.T, s *service) {
	token := s.login(t, "face-expiry")
	photos(t, s, token, cardByKey(t, "minority"))
	call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, nil)
	first := startFace(t, s, token, "face-v1")
	s.clk.Advance(2 * time.Hour) // past the verify_id's expires_in (3600 s)
	v := faceResult(t, s, token)
	if v.State != "face_pending" || v.NextAction != "face" || v.Face == nil || v.Face.Last != "expired" || v.Face.VerifyID != "" {
		t.Fatalf("after expiry: %+v", v)
	}
	second := startFace(t, s, token, "")
	if second.Face.VerifyID == first.Face.VerifyID {
		t.Fatal("no new verify_id after expiry")
	}
	playFace(t, s, second.Face.VerifyID, 10000)
	if v := faceResult(t, s, token); v.State != "verified" {
		t.Fatalf("a new check after expiry: %+v", v)
	}
}
