package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"realname/config"
	"realname/model/modeltest"
	"realname/web/webtest"
)

// TestDemoInBrowser walks /demo in chromium as its user would, in Chinese
// and in English: consent, a sample card's front and back from the photo
// chooser, the prefilled confirmation, submit, the decision in words,
// erasure. Screenshots (demo.zh-CN.png, demo.en.png) of the confirmation
// go to $REALNAME_TEST_ARTIFACTS.
func TestDemoInBrowser(t *testing.T) {
	webtest.Require(t) // before starting a service for nothing
	s := startService(t, modeltest.Backends()[0], nil)
	for _, tc := range []struct{ lang, path, accept, verified, erased string }{
		{"zh-CN", "/demo", "zh-CN,zh", "认证成功", "认证信息已删除"},
		{"en", "/demo?lang=en", "zh-CN,zh", "Verified", "Verification data erased"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := webtest.Open(t, tc.accept, 1280, 900, 60*time.Second)
			b.Explain = `JSON.stringify({error: document.querySelector('.error:not([hidden])')?.textContent || '', consent: document.getElementById('consent').checked, sheet: document.getElementById('sheet').open, n: document.querySelectorAll('#sheet-samples button').length, samples: document.querySelectorAll('#samples tbody tr').length})`
			do, eval, waitFor := b.Do, b.Eval, b.WaitFor
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
			b.Save("demo." + tc.lang + ".png")
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

// TestDemoFaceInBrowser walks /demo's face step (REALNAME_FACE=required)
// in chromium: after submit the face step, its own consent asked first,
// the outcome sheet standing in for WeChat's client: 取消 said in words
// with a retry, then 通过 on a new verify_id → verified. A screenshot of
// the step after the cancel (demo.face.png) goes to $REALNAME_TEST_ARTIFACTS.
func TestDemoFaceInBrowser(t *testing.T) {
	webtest.Require(t)
	s := startService(t, modeltest.Backends()[0], func(c *config.Config) { c.Face = "required" })
	b := webtest.Open(t, "zh-CN,zh", 1280, 900, 60*time.Second)
	b.Explain = `JSON.stringify({error: document.querySelector('.error:not([hidden])')?.textContent || '', face: !document.getElementById('face-section').hidden, message: document.getElementById('face-message').textContent, button: document.getElementById('face-start').textContent, sheet: document.getElementById('face-sheet').open, loading: !document.getElementById('loading').hidden})`
	do, eval, waitFor := b.Do, b.Eval, b.WaitFor
	photo := func(side string) {
		t.Helper()
		// Not while an earlier call is still loading: a click then went
		// nowhere on a loaded machine.
		waitFor("ready for "+side, fmt.Sprintf(`document.getElementById('loading').hidden && !document.getElementById('side-%s').disabled`, side))
		do("open the chooser for "+side, chromedp.Click("#side-"+side))
		waitFor("the chooser", `document.getElementById('sheet').open && document.querySelectorAll('#sheet-samples button').length > 0`)
		eval(`document.querySelector('#sheet-samples button').click(), ''`)
		waitFor(side+" uploaded", fmt.Sprintf(`!document.querySelector('#side-%s img').hidden && document.getElementById('loading').hidden`, side))
	}
	do("open", chromedp.Navigate(s.url+"/demo"), chromedp.WaitVisible(`#consent`))
	waitFor("signed in", `document.getElementById('dev-user').textContent.length > 0`)
	do("consent", chromedp.Click(`#consent`))
	photo("front")
	photo("back")
	waitFor("confirmation", `!document.getElementById('confirm-section').hidden`)
	do("submit", chromedp.Click(`#submit`))
	waitFor("the face step", `!document.getElementById('face-section').hidden && document.getElementById('flow').hidden && document.getElementById('loading').hidden`)
	do("face before its consent", chromedp.Click(`#face-start`))
	waitFor("face consent error", `!document.getElementById('error-face').hidden && !document.getElementById('face-sheet').open`)
	do("face consent", chromedp.Click(`#face-consent`))
	// face runs one capture: the sheet stands in for WeChat's client.
	face := func(choice string) {
		t.Helper()
		do("start the face check", chromedp.Click(`#face-start`))
		waitFor("the outcome sheet", `document.getElementById('face-sheet').open`)
		do("choose "+choice, chromedp.Click(choice))
		waitFor("the result asked", `!document.getElementById('face-sheet').open && document.getElementById('loading').hidden && [...document.querySelectorAll('#log code')].some(c => c.textContent.endsWith('/face/result'))`)
	}
	face(`#face-cancel`)
	waitFor("the cancel in words", `document.getElementById('face-message').textContent.includes('取消') && document.getElementById('face-start').textContent === '重新进行人脸核身' && document.getElementById('face-consent-row').hidden`)
	b.Save("demo.face.png")
	face(`#face-pass`)
	waitFor("verified", `!document.getElementById('result').hidden && document.getElementById('result-title').textContent === '认证成功' && document.getElementById('face-section').hidden`)
	if n := eval(`String(document.querySelectorAll('#log code').length)`); n == "" {
		t.Fatal("no requests logged")
	}
}
