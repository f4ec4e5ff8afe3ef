package handler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"realname/model"
	"realname/service/ocr"
	"realname/service/verify"
	"realname/testdata/idcard"
)

const chromiumPath = "/usr/bin/chromium"

// TestAdminInBrowser drives Debian's chromium through the review of a case
// that went through the real flow (sandbox vendors) into review: sign in,
// find it in the queue, claim, reveal, approve, and see the decision's
// webhook event on the case page. Screenshots of the queue and of the case
// go to $REALNAME_TEST_ARTIFACTS (or the test's temp dir).
func TestAdminInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("REALNAME_TEST_BROWSER") == "" {
			t.Skipf("%s is missing and REALNAME_TEST_BROWSER is not set", chromiumPath)
		}
		t.Fatalf("REALNAME_TEST_BROWSER is set but the browser is missing: %v", err)
	}
	env := newAdminEnv(t, true, nil)
	card, vid, openid := caseFromFlow(t, env, "norecord")

	shots := os.Getenv("REALNAME_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 50*time.Second)
	defer cancel()

	// do runs browser steps; value-returning steps go through chromedp.Run.
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser, %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("browser, text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	shot := func() []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; lower is JPEG
		if err != nil {
			t.Fatalf("browser, screenshot: %v", err)
		}
		return b
	}
	caseLink := fmt.Sprintf(`#queue a[href="/admin/cases/%d"]`, vid)
	do("sign in", chromedp.Navigate(env.URL+"/admin/"), // anonymous: sent to the login page
		chromedp.WaitVisible(`#username`),
		chromedp.SendKeys(`#username`, "ann"),
		chromedp.SendKeys(`#password`, testPassword),
		chromedp.Click(`#signin`),
		chromedp.WaitVisible(`#queue`))
	do("find the case", chromedp.SendKeys(`#openid`, openid),
		chromedp.Click(`#filter`),
		chromedp.WaitVisible(caseLink))
	queueShot := shot()
	do("claim", chromedp.Click(caseLink),
		chromedp.WaitVisible(`#claim`),
		chromedp.Click(`#claim`),
		chromedp.WaitVisible(`#approve`))
	do("reveal", chromedp.Click(`#reveal`), chromedp.WaitVisible(`.photos img`))
	loaded := `Array.from(document.querySelectorAll('.photos img')).every(i => i.complete && i.naturalWidth > 0)`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("browser, photos: %v", err)
	}
	name, number := text(`#name`), text(`#id-number`)
	caseShot := shot()
	do("approve", chromedp.Click(`#approve`), chromedp.WaitVisible(`.flash`))
	state, webhooks := text(`h1 .state`), text(`#webhooks`)
	for file, data := range map[string][]byte{"admin-queue.png": queueShot, "admin-case.png": caseShot} {
		path := filepath.Join(shots, file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", path, len(data))
	}
	if name != card.Name || number != card.IDNumber {
		t.Errorf("revealed %q %q, want the card's values", name, number)
	}
	if state != model.StateVerified || !strings.Contains(webhooks, verify.HookReviewed) {
		t.Errorf("after approval: state %q, webhooks %q", state, webhooks)
	}
	var v model.Verification
	env.db.First(&v, vid)
	if v.State != model.StateVerified || v.DecidedBy == nil || *v.DecidedBy != env.admins["ann"] {
		t.Fatalf("stored case %+v", v)
	}
	var reveals int64
	env.db.Model(&model.VerificationEvent{}).Where("verification_id = ? AND type = ? AND actor = ?", vid, "revealed",
		fmt.Sprintf("admin:%d", env.admins["ann"])).Count(&reveals)
	if reveals != 1 {
		t.Fatalf("reveal events %d", reveals)
	}
}

// caseFromFlow runs a sample card through the real flow: upload both sides,
// submit; the card must be one the check sends to review.
func caseFromFlow(t *testing.T, env *adminEnv, key string) (idcard.Card, int64, string) {
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
	u := model.User{AppID: "wxtest", OpenID: "o-browser-" + key}
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
	if err != nil || view.State != model.StateReview {
		t.Fatalf("submit: %+v %v", view, err)
	}
	return card, view.ID, u.OpenID
}
