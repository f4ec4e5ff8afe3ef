package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// The two Mini Programs of TestServerAPIWithTwoApps.
const (
	appShop  = "wxshop00000000001"
	appClubs = "wxclubs0000000002"
)

// loginTo logs who in to app and returns the session token and the user.
func loginTo(t *testing.T, s *service, app, who string) (string, model.User) {
	t.Helper()
	var sess struct{ Token string }
	code := who + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if st := call(t, "POST", s.url+"/api/v1/session", "", map[string]string{"code": code, "appid": app}, &sess); st != http.StatusCreated {
		t.Fatalf("login %s to %s: %d", who, app, st)
	}
	var u model.User
	s.db.Where("app_id = ?", app).Order("id DESC").Take(&u)
	return sess.Token, u
}

// feedAll reads key's feed from after to its head (pages of 2), and
// returns the events and the cursor at the end.
func feedAll(t *testing.T, s *service, key, after string) ([]feedEvent, string) {
	t.Helper()
	var out []feedEvent
	for range 500 {
		q := url.Values{"limit": {"2"}}
		if after != "" {
			q.Set("after", after)
		}
		st, raw := serverCall(t, "GET", s.url+"/server/v1/events?"+q.Encode(), key, nil)
		if st != http.StatusOK {
			t.Fatalf("events: %d %s", st, raw)
		}
		var page struct {
			Events []feedEvent `json:"events"`
			Next   string      `json:"next"`
		}
		json.Unmarshal(raw, &page)
		out = append(out, page.Events...)
		if page.Next == after {
			return out, after
		}
		after = page.Next
	}
	t.Fatal("the feed never ended")
	return nil, ""
}

// TestServerAPIWithTwoApps: in a deployment of two Mini Programs, a key of
// one app reads and revokes that app's users only (another app's are
// absent, by openid or by unionid) and its feed holds that app's events
// only, with a cursor that still reaches the head; an all-apps key sees
// both. An openid and a unionid naming different users are refused
// (they used to answer, and revoke, the unionid's user).
func TestServerAPIWithTwoApps(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startService(t, b, func(c *config.Config) {
				c.Sandbox = true
				c.WeChat.Apps = []config.WeChatApp{{AppID: appShop, Secret: "shop-secret-0000000000000000001"},
					{AppID: appClubs, Secret: "clubs-secret-000000000000000002"}}
			})
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			keys := apikey.New(apikey.Deps{DB: s.db, Trail: store.New(s.db, clock.System{}, quiet), PerSecond: 1, Apps: []string{appShop, appClubs}, Clock: clock.System{}, Log: quiet})
			_, shopKey, err := keys.Create(t.Context(), "shop", apikey.Scopes(), appShop, "test")
			if err != nil {
				t.Fatal(err)
			}
			_, allKey, err := keys.Create(t.Context(), "bi", apikey.Scopes(), apikey.AllApps, "test")
			if err != nil {
				t.Fatal(err)
			}
			aliceShop, alice := loginTo(t, s, appShop, "alice")
			bobClubs, bob := loginTo(t, s, appClubs, "bob")
			_, aliceInClubs := loginTo(t, s, appClubs, "alice")
			if alice.UnionID == "" || alice.UnionID != aliceInClubs.UnionID || alice.UnionID == bob.UnionID {
				t.Fatalf("unionids: %q %q %q", alice.UnionID, aliceInClubs.UnionID, bob.UnionID)
			}
			for token, card := range map[string]string{aliceShop: "male", bobClubs: "female"} {
				photos(t, s, token, cardByKey(t, card))
				var v personView
				if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &v); st != http.StatusOK || v.State != "verified" {
					t.Fatalf("submit: %d %+v", st, v)
				}
			}
			users := s.url + "/server/v1/users/"
			status := func(key, path string) (int, string) {
				st, raw := serverCall(t, "GET", users+path, key, nil)
				return st, string(raw)
			}
			revoke := func(key, path string) (int, string) {
				st, raw := serverCall(t, "POST", users+path, key, map[string]string{"reason": "test"})
				return st, string(raw)
			}
			bobPath := bob.OpenID + "/verification?appid=" + appClubs

			// An openid and another user's unionid: refused, nobody revoked.
			conflict := alice.OpenID + "/verification?appid=" + appShop + "&unionid=" + bob.UnionID
			if st, raw := status(allKey, conflict); st != http.StatusBadRequest || !strings.Contains(raw, "subject_conflict") {
				t.Errorf("status by alice's openid and bob's unionid: %d %s", st, raw)
			}
			revokeConflict := alice.OpenID + "/verification/revoke?appid=" + appShop + "&unionid=" + bob.UnionID
			if st, raw := revoke(allKey, revokeConflict); st != http.StatusBadRequest || !strings.Contains(raw, "subject_conflict") {
				t.Errorf("revoke by alice's openid and bob's unionid: %d %s", st, raw)
			}
			if st, raw := status(allKey, bobPath); st != http.StatusOK || !strings.Contains(raw, `"state":"verified"`) {
				t.Fatalf("bob after the conflicting revoke: %d %s", st, raw)
			}
			if st, raw := status(allKey, alice.OpenID+"/verification?appid="+appShop+"&unionid="+alice.UnionID); st != http.StatusOK ||
				!strings.Contains(raw, alice.OpenID) {
				t.Errorf("alice by her openid and her unionid: %d %s", st, raw)
			}

			// The shop's key: the shop's users only.
			if st, raw := status(shopKey, alice.OpenID+"/verification"); st != http.StatusOK || !strings.Contains(raw, `"appid":"`+appShop+`"`) {
				t.Errorf("alice with the shop's key (its app by default): %d %s", st, raw)
			}
			for _, path := range []string{bobPath, "-/verification?unionid=" + bob.UnionID, alice.OpenID + "/verification?appid=" + appClubs} {
				if st, raw := status(shopKey, path); st != http.StatusNotFound || !strings.Contains(raw, "user_not_found") {
					t.Errorf("%s with the shop's key: %d %s", path, st, raw)
				}
			}
			if st, raw := status(shopKey, "-/verification?unionid="+alice.UnionID); st != http.StatusOK || !strings.Contains(raw, alice.OpenID) {
				t.Errorf("alice by unionid with the shop's key: %d %s", st, raw)
			}
			if st, raw := revoke(shopKey, bob.OpenID+"/verification/revoke?appid="+appClubs); st != http.StatusNotFound {
				t.Errorf("revoking bob with the shop's key: %d %s", st, raw)
			}
			if st, raw := status(allKey, bobPath); st != http.StatusOK || !strings.Contains(raw, `"state":"verified"`) {
				t.Fatalf("bob after the shop's key tried to revoke him: %d %s", st, raw)
			}

			// The feeds: wait until the all-apps key sees both verifications.
			pullUntil(t, s, allKey, "", "verification.verified", bob.OpenID)
			pullUntil(t, s, allKey, "", "verification.verified", alice.OpenID)
			everything, head := feedAll(t, s, allKey, "")
			shop, shopHead := feedAll(t, s, shopKey, "")
			if shopHead != head {
				t.Errorf("the shop's cursor ends at %s, the feed's head is %s", shopHead, head)
			}
			apps := map[string]int{}
			for _, ev := range everything {
				apps[ev.Data["appid"].(string)]++
			}
			if apps[appShop] == 0 || apps[appClubs] == 0 || len(shop) != apps[appShop] {
				t.Errorf("all apps: %v; the shop's feed: %d events", apps, len(shop))
			}
			for _, ev := range shop {
				if ev.Data["appid"] != appShop {
					t.Errorf("the shop's feed holds %+v", ev)
				}
			}

			// Bob erases his data: the clubs' event, never in the shop's feed.
			if st := call(t, "DELETE", s.url+"/api/v1/verification", bobClubs, nil, nil); st != http.StatusNoContent {
				t.Fatalf("erase: %d", st)
			}
			erased, _, _ := pullUntil(t, s, allKey, head, "user.data_erased", bob.OpenID)
			if erased.Data["appid"] != appClubs {
				t.Errorf("erasure event %+v", erased)
			}
			var row model.WebhookEvent
			if s.db.Where("id = ?", erased.ID).Take(&row); row.AppID != appClubs {
				t.Errorf("the erasure's outbox row has app %q", row.AppID)
			}
			if more, _ := feedAll(t, s, shopKey, shopHead); len(more) != 0 {
				t.Errorf("the shop's feed after the clubs' erasure: %+v", more)
			}
		})
	}
}
