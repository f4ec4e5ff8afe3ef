package handler

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"realname/model"
	"realname/model/modeltest"
	"realname/service/ocr"
	"realname/service/review"
	"realname/service/verify"
)

// TestErasureLeavesNoFreeText: a reviewer's note and a business system's
// revoke reason naming the holder are masked as written, kept out of the
// audit chain in clear, and gone after the holder's erasure — from every
// table, the SQLite file and its WAL after a checkpoint, the case page,
// the audit page and its CSV — while the chain still verifies.
func TestErasureLeavesNoFreeText(t *testing.T) {
	const (
		name    = "周晓梅"
		number  = "11010519491231002X"
		address = "湖北省武汉市洪山区珞喻路1037号"
	)
	leaks := []string{name, "晓梅", "湖北省武汉市", "洪山区", "珞喻路", number}
	for _, b := range modeltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env := newAdminEnvOn(t, b, false, &fakeWebhooks{}, TLSPolicy{})
			ctx := context.Background()
			id := env.seedCase(t, "o-erase-notes", name, number,
				ocr.Fields{Side: ocr.SideFront, Name: name, IDNumber: number, Address: address}, ocr.Fields{Side: ocr.SideBack}, verify.ReasonNoRecord)
			ann := env.client(t)
			ann.login("ann")
			ann.get(caseURL(id))
			if resp, _ := ann.post(caseURL(id)+"/claim", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("claim: %d", resp.StatusCode)
			}
			note := "核对 " + name + " 本人，住址 湖北省武汉市 洪山区珞喻路，号码 " + number
			if resp, _ := ann.post(caseURL(id)+"/approve", url.Values{"note": {note}, "confirm": {"1"}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("approve: %d", resp.StatusCode)
			}
			_, page := ann.get(caseURL(id))
			if !strings.Contains(page, "核对 周** 本人") {
				t.Errorf("the note is not on the case page, masked")
			}
			if _, err := env.flow.Revoke(ctx, verify.Subject{OpenID: "o-erase-notes"}, "wxtest",
				"用户"+name+"投诉：住址湖北省武汉市洪山区珞喻路1037号不是本人", "apikey:1"); err != nil {
				t.Fatal(err)
			}
			var u model.User
			env.db.Where("open_id = ?", "o-erase-notes").Take(&u)
			before := modeltest.Dump(t, env.db)
			for _, leak := range leaks {
				if strings.Contains(before, leak) {
					t.Errorf("before erasure, %q is stored in clear", leak)
				}
			}
			if err := env.flow.Erase(ctx, verify.User{ID: u.ID, AppID: u.AppID}); err != nil {
				t.Fatal(err)
			}

			var texts int64
			env.db.Model(&model.EventText{}).Where("verification_id = ?", id).Count(&texts)
			if texts != 0 {
				t.Errorf("%d sealed texts survive the erasure", texts)
			}
			haystacks := map[string]string{"tables": modeltest.Dump(t, env.db)}
			if b.Name == model.DialectSQLite {
				if err := env.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
					t.Fatal(err)
				}
				files, _ := filepath.Glob(strings.TrimPrefix(env.dsn, "sqlite://") + "*")
				for _, f := range files {
					raw, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					haystacks[filepath.Base(f)] = string(raw)
				}
			}
			root := env.client(t)
			root.login("root")
			_, haystacks["case page"] = root.get(caseURL(id))
			_, haystacks["audit page"] = root.get(fmt.Sprintf("/admin/audit?case=%d", id))
			_, haystacks["audit.csv"] = root.get("/admin/audit.csv")
			for where, h := range haystacks {
				for _, leak := range leaks {
					if strings.Contains(h, leak) {
						t.Errorf("after erasure, %q is in the %s", leak, where)
					}
				}
			}
			if !strings.Contains(haystacks["case page"], "已随个人信息删除") && !strings.Contains(haystacks["case page"], "deleted with the personal data") {
				t.Error("the case page does not say the note was deleted")
			}
			rep, err := review.VerifyChain(ctx, env.db)
			if err != nil || rep.Broken != nil {
				t.Fatalf("audit verify after erasure: %+v %v", rep.Broken, err)
			}
		})
	}
}
