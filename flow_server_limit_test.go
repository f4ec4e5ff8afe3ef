package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"realname/config"
	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// TestServerAPIRefusalsWriteBoundedRows: 1000 requests of one key over its
// rate (one a second), every fourth without the scope, write a bounded
// number of rows: a use per request let through, and one count per key,
// minute and kind for the refused (it used to be a use row per request,
// 429s and 403s included).
func TestServerAPIRefusalsWriteBoundedRows(t *testing.T) {
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := startService(t, b, func(c *config.Config) { c.ServerAPIRate = 1 })
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			keys := apikey.New(apikey.Deps{DB: s.db, Trail: store.New(s.db, clock.System{}, quiet), PerSecond: 1, Apps: []string{sandbox.SandboxAppID}, Clock: clock.System{}, Log: quiet})
			_, key, err := keys.Create(t.Context(), "crm", []string{apikey.ScopeEventsRead}, "", "test")
			if err != nil {
				t.Fatal(err)
			}
			statuses := map[int]int{}
			for i := range 1000 {
				url := s.url + "/server/v1/events"
				if i%4 == 3 {
					url = s.url + "/server/v1/users/o1/verification" // needs verifications:read
				}
				st, _ := serverCall(t, "GET", url, key, nil)
				statuses[st]++
			}
			var uses, refusals int64
			s.db.Model(&model.APIKeyUse{}).Count(&uses)
			s.db.Model(&model.APIKeyRefusal{}).Count(&refusals)
			if statuses[http.StatusTooManyRequests] < 900 || uses != int64(statuses[http.StatusOK]) || uses > 30 || refusals > 4 {
				t.Fatalf("answers %v: %d use rows, %d refusal rows", statuses, uses, refusals)
			}
			var counted int64
			s.db.Model(&model.APIKeyRefusal{}).Select("COALESCE(SUM(requests), 0)").Scan(&counted)
			if refused := statuses[http.StatusTooManyRequests] + statuses[http.StatusForbidden]; counted != int64(refused) {
				t.Errorf("%d refusals counted, %d answered", counted, refused)
			}
		})
	}
}
