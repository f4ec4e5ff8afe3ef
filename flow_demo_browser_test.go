package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"realname/model/modeltest"
)

// TestDemoInBrowser walks /demo in chromium as its user would, in Chinese
// and in English: consent, a sample card's front and back from the photo
// chooser, the prefilled confirmation, submit, the decision in words,
// erasure. Screenshots (demo.zh-CN.png, demo.en.png) of the confirmation
// go to $REALNAME_TEST_ARTIFACTS.
func TestDemoInBrowser(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("REALNAME_TEST_BROWSER") == "" {
			t.Skipf("%s is missing and REALNAME_TEST_BROWSER is not set", chromium)
		}
		t.Fatalf("REALNAME_TEST_BROWSER is set but the browser is missing: %v", err)
	}
	s := startService(t, modeltest.Backends()[0], nil)
	shots := os.Getenv("REALNAME_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, path, accept, verified, erased string }{
		{"zh-CN", "/demo", "zh-CN,zh", "认证成功", "认证信息已删除"},
		{"en", "/demo?lang=en", "zh-CN,zh", "Verified", "Verification data erased"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
				chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
				chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
				chromedp.Flag("accept-lang", tc.accept), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
			defer cancelAlloc()
			ctx, cancelCtx := chromedp.NewContext(alloc)
			defer cancelCtx()
			ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					t.Fatalf("browser, %s: %v", what, err)
				}
			}
			eval := func(js string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
				if err != nil {
					t.Fatalf("browser, %s: %v", js, err)
				}
				return v
			}
			waitFor := func(what, js string) {
				t.Helper()
				for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
					if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
						return
					}
				}
				t.Fatalf("browser, %s: %s never held; page error %q; state %s", what, js, eval(`document.querySelector('.error:not([hidden])')?.textContent || ''`),
					eval(`JSON.stringify({consent: document.getElementById('consent').checked, sheet: document.getElementById('sheet').open, n: document.querySelectorAll('#sheet-samples button').length, samples: document.querySelectorAll('#samples tbody tr').length})`))
			}
			// photo picks the first sample card (a "match") for a side.
			photo := func(side string) {
				t.Helper()
				do("open the chooser for "+side, chromedp.Click("#side-"+side))
				waitFor("the chooser", `document.getElementById('sheet').open && document.querySelectorAll('#sheet-samples button').length > 0`)
				eval(`document.querySelector('#sheet-samples button').click(), ''`)
				waitFor(side+" uploaded", fmt.Sprintf(`!document.querySelector('#side-%s img').hidden && document.getElementById('loading').hidden`, side))
			}
			do("open", chromedp.Navigate(s.url+tc.path), chromedp.WaitVisible(`#consent`))
			if got := eval(`document.documentElement.lang`); got != tc.lang {
				t.Fatalf("lang %q", got)
			}
			waitFor("signed in", `document.getElementById('dev-user').textContent.length > 0`)
			// Before consent a photo is refused where the user acted.
			do("photo before consent", chromedp.Click(`#side-front`))
			waitFor("consent error", `!document.getElementById('error-consent').hidden`)
			do("consent", chromedp.Click(`#consent`))
			photo("front")
			photo("back")
			waitFor("confirmation", `!document.getElementById('confirm-section').hidden`)
			if name, id := eval(`document.getElementById('claim-name').value`), eval(`document.getElementById('claim-id').value`); name == "" || len(id) != 18 || strings.Contains(id, "*") {
				t.Fatalf("not prefilled: %q %q", name, id)
			}
			b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(shots, "demo."+tc.lang+".png")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s (%d bytes)", path, len(b))
			do("submit", chromedp.Click(`#submit`))
			waitFor("decision", `!document.getElementById('result').hidden`)
			if got := eval(`document.getElementById('result-title').textContent`); got != tc.verified {
				t.Fatalf("result %q", got)
			}
			do("erase", chromedp.Click(`#erase`), chromedp.WaitVisible(`#modal[open]`), chromedp.Click(`#modal-ok`))
			waitFor("erased", fmt.Sprintf(`document.getElementById('result-title').textContent === %q`, tc.erased))
		})
	}
}
