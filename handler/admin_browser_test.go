package handler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"realname/model"
	"realname/service/ocr"
	"realname/service/store"
	"realname/service/verify"
	"realname/testdata/idcard"
	"realname/web/webtest"
)

// TestAdminInBrowser drives Debian's chromium through the console as a
// Chinese review team uses it: a reviewer signs in, sees the queue, decides
// three cases from the real flow (sandbox vendors) in a row by keyboard
// alone (claim, reveal, zoom, approve, confirm with Enter, on to the next
// case) and opens the dashboard; then an admin walks the pages in English
// after switching their account's language. Screenshots (queue, case revealed and zoomed, dashboard; zh-CN
// and en) go to $REALNAME_TEST_ARTIFACTS; /demo's are TestDemoInBrowser's.
func TestAdminInBrowser(t *testing.T) {
	// The browser asks for Chinese, as a browser in China does; English
	// comes from the account's choice later.
	b := webtest.Open(t, "zh-CN,zh", 1440, 900, 120*time.Second)
	do, text, waitFor, save := b.Do, b.Text, b.WaitFor, b.Save
	env := newAdminEnv(t, true, nil)
	var cases []int64
	var card idcard.Card
	for i := range 3 {
		c, vid, _ := caseFromFlow(t, env, "norecord", fmt.Sprint(i))
		card, cases = c, append(cases, vid)
	}
	lang := func(want string) {
		t.Helper()
		waitFor("page language "+want, fmt.Sprintf(`document.documentElement.lang === %q`, want))
	}
	key := func(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }

	do("sign in", chromedp.Navigate(env.URL+"/admin/"), // anonymous: sent to the login page
		chromedp.WaitVisible(`#username`))
	lang("zh-CN")
	if !strings.Contains(text(`h1`), "登录") {
		t.Fatalf("login page heading %q", text(`h1`))
	}
	do("sign in", chromedp.SendKeys(`#username`, "ann"), chromedp.SendKeys(`#password`, testPassword),
		chromedp.Click(`#signin`), chromedp.WaitVisible(`#queue`))
	lang("zh-CN")
	queue := text(`#queue`)
	if !strings.Contains(queue, "(UTC+8)") || !strings.Contains(queue, "权威库无记录") {
		t.Errorf("queue: %q", queue)
	}
	save("admin-queue.zh-CN.png")

	// Three cases in a row, by keyboard alone.
	do("open the first case", chromedp.Navigate(fmt.Sprintf("%s/admin/cases/%d", env.URL, cases[0])), chromedp.WaitVisible(`#claim`))
	for i, vid := range cases {
		at := fmt.Sprintf(`location.pathname === "/admin/cases/%d"`, vid)
		waitFor("case "+fmt.Sprint(vid), at+` && document.readyState === "complete"`)
		do("claim by C", key("c"), chromedp.WaitVisible(`#approve`))
		if i == 0 {
			do("reveal by V", key("v"), chromedp.WaitVisible(`img[data-photo]`))
			waitFor("photos", `Array.from(document.querySelectorAll('img[data-photo]')).every(i => i.complete && i.naturalWidth > 0)`)
			if text(`#name`) != card.Name || text(`#id-number`) != card.IDNumber {
				t.Errorf("revealed %q %q", text(`#name`), text(`#id-number`))
			}
			do("zoom by +", key("+"), key("+"))
			waitFor("zoomed", `document.querySelector('img[data-photo]').style.transform.includes("scale(1.5625)")`)
			save("admin-case.zh-CN.png")
			do("reset by 0", key("0"))
		}
		do("approve by A", key("a"), chromedp.WaitVisible(`#confirm-dialog[open]`))
		if !strings.Contains(text(`#confirm-text`), fmt.Sprintf("#%d", vid)) {
			t.Errorf("dialog: %q", text(`#confirm-text`))
		}
		do("confirm by Enter", key(kb.Enter))
		if i+1 < len(cases) {
			waitFor("the next case after a decision", fmt.Sprintf(`location.pathname === "/admin/cases/%d" && !!document.querySelector(".flash")`, cases[i+1]))
		} else {
			waitFor("the queue after the last case", `location.pathname === "/admin/" && !!document.querySelector(".flash")`)
		}
	}
	for _, vid := range cases {
		var v model.Verification
		env.db.First(&v, vid)
		if v.State != store.Verified || v.DecidedBy == nil || *v.DecidedBy != env.admins["ann"] {
			t.Errorf("case %d: %s by %v", vid, v.State, v.DecidedBy)
		}
	}
	var reveals int64
	env.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ?", cases[0], "revealed").Count(&reveals)
	if reveals != 1 {
		t.Errorf("reveal events %d", reveals)
	}

	do("dashboard", chromedp.Navigate(env.URL+"/admin/dashboard"), chromedp.WaitVisible(`main h1`))
	lang("zh-CN")
	save("admin-dashboard.zh-CN.png")

	// An admin, in English by the account's choice.
	do("sign out", chromedp.Navigate(env.URL+"/admin/"), chromedp.WaitVisible(`form.who button`), chromedp.Click(`form.who button`),
		chromedp.WaitVisible(`#username`))
	do("sign in as the admin", chromedp.SendKeys(`#username`, "root"), chromedp.SendKeys(`#password`, testPassword),
		chromedp.Click(`#signin`), chromedp.WaitVisible(`#queue`))
	for path, heading := range map[string]string{"/admin/audit": "审计日志", "/admin/accounts": "账号管理", "/admin/webhooks": "Webhook",
		"/admin/apikeys": "API 密钥"} {
		do(path, chromedp.Navigate(env.URL+path), chromedp.WaitVisible(`main h1`))
		lang("zh-CN")
		if h := text(`main h1`); h != heading {
			t.Errorf("%s: heading %q", path, h)
		}
	}
	do("switch to English", chromedp.Navigate(env.URL+"/admin/"), chromedp.WaitVisible(`form.lang button`),
		chromedp.Click(`form.lang button`), chromedp.WaitVisible(`#queue`))
	lang("en")
	do("queue in English", chromedp.Navigate(env.URL+"/admin/?state=any"), chromedp.WaitVisible(`#queue`))
	if !strings.Contains(text(`main h1`), "Queue") {
		t.Errorf("queue heading %q", text(`main h1`))
	}
	save("admin-queue.en.png")
	do("case in English", chromedp.Navigate(fmt.Sprintf("%s/admin/cases/%d", env.URL, cases[0])), chromedp.WaitVisible(`#timeline`))
	lang("en")
	save("admin-case.en.png")
	do("dashboard in English", chromedp.Navigate(env.URL+"/admin/dashboard"), chromedp.WaitVisible(`main h1`))
	lang("en")
	save("admin-dashboard.en.png")
	for path, heading := range map[string]string{"/admin/audit": "Audit log", "/admin/accounts": "Accounts", "/admin/webhooks": "Webhooks",
		"/admin/apikeys": "API keys"} {
		do(path, chromedp.Navigate(env.URL+path), chromedp.WaitVisible(`main h1`))
		lang("en")
		if h := text(`main h1`); h != heading {
			t.Errorf("%s: heading %q", path, h)
		}
	}
}

// caseFromFlow runs a sample card through the real flow: upload both sides,
// submit; the card must be one the check sends to review.
func caseFromFlow(t *testing.T, env *adminEnv, key, who string) (idcard.Card, int64, string) {
	t.Helper()
	ctx := context.Background()
	cards, err := idcard.Cards()
	if err != nil {
		t.Fatal(err)
	}
	var card idcard.Card
	for _, c := range cards {
		if c.Key == key {
			card = c
		}
	}
	front, _ := idcard.Image(card.Front)
	back, _ := idcard.Image(card.Back)
	u := model.User{AppID: "wxtest", OpenID: "o-browser-" + key + who}
	if err := env.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	vu := verify.User{ID: u.ID, AppID: u.AppID}
	if _, err := env.flow.Upload(ctx, vu, verify.UploadInput{Image: front, Side: ocr.SideFront, Consent: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.flow.Upload(ctx, vu, verify.UploadInput{Image: back, Side: ocr.SideBack}); err != nil {
		t.Fatal(err)
	}
	view, err := env.flow.Submit(ctx, vu, verify.Claim{Name: card.Name, IDNumber: card.IDNumber})
	if err != nil || view.State != string(store.Review) {
		t.Fatalf("submit: %+v %v", view, err)
	}
	return card, view.ID, u.OpenID
}
