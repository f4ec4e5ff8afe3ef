package review

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/clock"
	"realname/service/verify"
)

func TestAuditLogAndCSV(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	db = f.db // carries the fixture's clock
	ctx := context.Background()
	ann, bob := f.admin(t, "ann", "reviewer"), f.admin(t, "bob", "admin")
	v := f.seedCase(t, seed{reason: verify.ReasonNoRecord})
	if err := f.svc.Claim(ctx, v.ID, ann); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reveal(ctx, v.ID, Staff{AdminID: ann}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reject(ctx, v.ID, ann, "suspected_fraud", "=HYPERLINK(\"http://evil\")"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RecordStaffAction(ctx, bob, "webhook_endpoint_created", map[string]any{"url": "=cmd|' /C calc'!A0"}); err != nil {
		t.Fatal(err)
	}

	page, err := f.svc.AuditLog(ctx, AuditFilter{Limit: 2})
	if err != nil || len(page.Entries) != 2 || page.Next == 0 {
		t.Fatalf("first page: %+v %v", page, err)
	}
	if page.Entries[0].Actor != Actor(bob) || page.Entries[0].ActorName != "bob" {
		t.Fatalf("newest first: %+v", page.Entries[0])
	}
	rest, err := f.svc.AuditLog(ctx, AuditFilter{Before: page.Next})
	if err != nil || len(rest.Entries) != 3 || rest.Next != 0 {
		t.Fatalf("second page: %d entries, next %d, %v", len(rest.Entries), rest.Next, err)
	}
	for _, e := range append(page.Entries, rest.Entries...) {
		if !strings.HasPrefix(e.Actor, "admin:") {
			t.Fatalf("user event in the staff log: %+v", e)
		}
	}
	mine, _ := f.svc.AuditLog(ctx, AuditFilter{AdminID: ann, Type: EventRevealed, VerificationID: v.ID})
	if len(mine.Entries) != 1 || mine.Entries[0].Case() == "" {
		t.Fatalf("filtered: %+v", mine.Entries)
	}

	var buf strings.Builder
	if err := f.svc.WriteAuditCSV(ctx, &buf, AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || recs[0][0] != "id" || recs[2][5] != EventRevealed || recs[2][4] != "ann" {
		t.Fatalf("csv: %v", recs)
	}
	// Times in the zone asked for: ISO 8601 with the offset, and as the pages show them.
	buf.Reset()
	if err := f.svc.WriteAuditCSV(ctx, &buf, AuditFilter{Zone: clock.China()}); err != nil {
		t.Fatal(err)
	}
	china, _ := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if at, err := time.Parse(time.RFC3339Nano, china[1][1]); err != nil || !strings.HasSuffix(china[1][1], "+08:00") ||
		!at.Equal(f.clk.Now()) || china[1][2] != f.clk.Now().In(clock.China()).Format("2006-01-02 15:04:05") {
		t.Fatalf("csv times in China time: %v (%v)", china[1][:3], err)
	}
	for _, r := range recs {
		for _, cell := range r {
			if strings.HasPrefix(cell, "=") {
				t.Fatalf("formula cell %q", cell)
			}
		}
	}
	var users int64
	db.Model(&model.VerificationEvent{}).Where("actor LIKE ?", "user:%").Count(&users)
	if users == 0 {
		t.Fatal("fixture has no user events to leave out")
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "-2": "'-2", "@a": "'@a", "ok": "ok", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q", in, got)
		}
	}
}
