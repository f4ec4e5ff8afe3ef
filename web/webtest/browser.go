// Package webtest drives Debian's chromium for the browser tests of the
// staff pages and /demo: one headless tab per test, steps that fail the
// test with what was being done, polling that survives navigations, and
// screenshots saved where CI keeps its artifacts.
package webtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless chromium tab of a test.
type Browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	// Explain, when set, is JavaScript whose string result WaitFor adds
	// to its failure: the page's state when a wait ran out.
	Explain string
}

// Require skips the test without chromium, or fails it when
// REALNAME_TEST_BROWSER says the browser tests must run (CI sets it).
func Require(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("REALNAME_TEST_BROWSER") == "" {
			t.Skipf("%s is missing and REALNAME_TEST_BROWSER is not set", ChromiumPath)
		}
		t.Fatalf("REALNAME_TEST_BROWSER is set but the browser is missing: %v", err)
	}
}

// Open starts chromium asking for acceptLang (its first tag is also the
// UI language), for at most timeout; see Require for a missing browser.
func Open(t *testing.T, acceptLang string, width, height int, timeout time.Duration) *Browser {
	t.Helper()
	Require(t)
	shots := os.Getenv("REALNAME_TEST_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	uiLang, _, _ := strings.Cut(acceptLang, ",")
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("accept-lang", acceptLang), chromedp.Flag("lang", uiLang),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return &Browser{t: t, ctx: ctx, shots: shots}
}

// Do runs steps; a failure fails the test naming what was being done.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser, %s: %v", what, err)
	}
}

// Text is the trimmed text of the first element sel matches.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("browser, text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Eval is the string js evaluates to.
func (b *Browser) Eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("browser, %s: %v", js, err)
	}
	return v
}

// WaitFor polls js until it is true, for up to 15 s; a navigation in
// between (a redirect after a decision) only means asking again.
func (b *Browser) WaitFor(what, js string) {
	b.t.Helper()
	var err error
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
	}
	explain := ""
	if b.Explain != "" {
		explain = "; page: " + b.Eval(b.Explain)
	}
	b.t.Fatalf("browser, %s (%s) never held: %v%s", what, js, err, explain)
}

// Save writes a full-page PNG screenshot as name in the artifacts folder.
func (b *Browser) Save(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatalf("browser, screenshot: %v", err)
	}
	path := filepath.Join(b.shots, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(png))
}
