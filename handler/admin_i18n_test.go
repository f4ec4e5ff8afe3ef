package handler

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"realname/service/ocr"
	"realname/service/review"
	"realname/service/verify"
	"realname/service/wording"
)

// TestAdminSpeaksChineseByDefault: Chinese unless the browser or the
// account asks for English; the account's choice wins.
func TestAdminSpeaksChineseByDefault(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	zh := env.client(t)
	zh.lang = ""
	if _, body := zh.get("/admin/login"); !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "登录") {
		t.Fatalf("login page without Accept-Language:\n%s", body)
	}
	zh.lang = "zh-CN,zh;q=0.9,en;q=0.8"
	if _, body := zh.get("/admin/login"); !strings.Contains(body, `<html lang="zh-CN">`) {
		t.Fatal("a Chinese browser gets another language")
	}
	en := env.client(t)
	if _, body := en.get("/admin/login"); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Sign in") {
		t.Fatalf("login page with Accept-Language: en:\n%s", body)
	}
	resp, body := zh.post("/admin/login", url.Values{"username": {"ann"}, "password": {"wrong"}})
	if resp.StatusCode != 401 || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("wrong password in Chinese: %d", resp.StatusCode)
	}

	// The account's choice beats the browser's.
	zh.login("ann")
	resp, _ = zh.post("/admin/language", url.Values{"language": {"en"}, "next": {"/admin/dashboard"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/dashboard" {
		t.Fatalf("set language: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := zh.get("/admin/"); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Queue") {
		t.Fatal("the account's English does not win over the browser's Chinese")
	}
	if resp, _ := zh.post("/admin/language", url.Values{"language": {"klingon"}}); resp.StatusCode != 422 {
		t.Fatalf("unknown language: %d", resp.StatusCode)
	}
	zh.post("/admin/language", url.Values{"language": {""}})
	if _, body := zh.get("/admin/"); !strings.Contains(body, `<html lang="zh-CN">`) {
		t.Fatal("clearing the choice does not give it back to the browser")
	}
}

// TestQueueTimesCarryTheirZone: no bare UTC; the zone is said; reasons
// are words with the code in small print; waiting cases carry an age.
func TestQueueTimesCarryTheirZone(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	env.seedCase(t, "o-zone", "张三", "11010519491231002X", ocr.Fields{Name: "张三"}, ocr.Fields{}, verify.ReasonNoRecord)
	c := env.client(t)
	c.lang = ""
	c.login("ann")
	_, raw := c.get("/admin/")
	body := html.UnescapeString(raw)
	if regexp.MustCompile(`UTC[^+-]`).MatchString(body) {
		t.Errorf("the queue shows bare UTC times")
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+8\)`).MatchString(body) {
		t.Errorf("no time with its zone on the queue")
	}
	if !strings.Contains(body, "权威库无记录") || !strings.Contains(raw, `<small class="code" title="no_record">no_record</small>`) {
		t.Errorf("the reason is not in words with its code in small print")
	}
	if !strings.Contains(body, "分钟") || !strings.Contains(body, "审核时限") {
		t.Errorf("no age in queue / SLA on the queue")
	}
}

// TestCaseWorkspace: the decision needs a confirmation, the reject
// reasons say what the user will read, and a decision moves on to the
// next case waiting.
func TestCaseWorkspace(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	first := env.seedCase(t, "o-ws-1", "张三", "11010519491231002X", ocr.Fields{Name: "张三"}, ocr.Fields{}, verify.ReasonNoRecord)
	second := env.seedCase(t, "o-ws-2", "李四", "110105194912310037", ocr.Fields{Name: "李四"}, ocr.Fields{}, verify.ReasonNoRecord)
	c := env.client(t)
	c.lang = ""
	c.login("ann")
	c.post(caseURL(first)+"/claim", nil)
	_, body := c.get(caseURL(first))
	for _, code := range review.RejectReasons {
		if !strings.Contains(body, wording.Reason(wording.Chinese, code)) {
			t.Errorf("the page does not show what the user reads for %s", code)
		}
	}
	for _, want := range []string{`data-key="a"`, `data-key="r"`, "快捷键", `id="next-case"`, caseURL(second)} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	resp, body := c.post(caseURL(first)+"/reject", url.Values{"reason": {"photo_unreadable"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "确认拒绝案件") || !strings.Contains(body, wording.Reason(wording.Chinese, "photo_unreadable")) {
		t.Fatalf("reject without confirmation: %d", resp.StatusCode)
	}
	resp, _ = c.post(caseURL(first)+"/reject", url.Values{"reason": {"photo_unreadable"}, "confirm": {"1"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, caseURL(second)+"?done=rejected") {
		t.Fatalf("after a decision: %d %s, want the next case %d", resp.StatusCode, loc, second)
	}
	if st := env.state(t, first); st != "rejected" {
		t.Fatalf("state %s", st)
	}
	if resp, _ := c.post(caseURL(second)+"/reject", url.Values{"reason": {"made_up"}}); resp.Header.Get("Location") != caseURL(second)+"?err=unknown_reason" {
		t.Fatalf("unknown reason: %s", resp.Header.Get("Location"))
	}
}

// TestAPIKeysPage: an admin makes a key (shown once), sees it listed with
// its scopes, and revokes it; a reviewer cannot reach the page.
func TestAPIKeysPage(t *testing.T) {
	env := newAdminEnv(t, false, nil)
	c := env.client(t)
	c.login("root")
	_, body := c.post("/admin/apikeys", url.Values{"name": {"crm"}, "scopes": {"verifications:read", "events:read"}})
	key := regexp.MustCompile(`<pre id="new-key">(rnk_[^<]+)</pre>`).FindStringSubmatch(body)
	if key == nil {
		t.Fatalf("the new key is not shown:\n%s", body)
	}
	if _, again := c.get("/admin/apikeys"); strings.Contains(again, key[1]) || !strings.Contains(again, "crm") || !strings.Contains(again, "events:read") {
		t.Fatal("the key list shows the key again, or not the key's row")
	}
	if resp, body := c.post("/admin/apikeys", url.Values{"name": {"x"}}); resp.StatusCode != 422 || !strings.Contains(body, "scope") {
		t.Fatalf("a key without scopes: %d", resp.StatusCode)
	}
	// The one app configured is the key's; all apps is an explicit choice, shown in the list.
	if _, page := c.get("/admin/apikeys/1"); !strings.Contains(page, `<dd id="key-app"><code>wxtest</code>`) || !strings.Contains(page, `id="refusals"`) {
		t.Fatal("the key's page does not show its app, or its refusals")
	}
	if _, body := c.post("/admin/apikeys", url.Values{"name": {"bi"}, "scopes": {"events:read"}, "app": {"*"}}); !strings.Contains(body, "new-key") ||
		!regexp.MustCompile(`<td class="app"><strong>[^<]+</strong></td>`).MatchString(body) {
		t.Fatalf("an all-apps key is not shown as such:\n%s", body)
	}
	if resp, _ := c.post("/admin/apikeys", url.Values{"name": {"x"}, "scopes": {"events:read"}, "app": {"wxother"}}); resp.StatusCode != 422 {
		t.Fatalf("a key of an app not configured: %d", resp.StatusCode)
	}
	resp, _ := c.post("/admin/apikeys/1/revoke", nil)
	if resp.Header.Get("Location") != "/admin/apikeys?done=key_revoked" {
		t.Fatalf("revoke: %s", resp.Header.Get("Location"))
	}
	if _, body := c.get("/admin/apikeys/1"); !strings.Contains(body, "revoked") {
		t.Fatal("the key's page does not say it is revoked")
	}
	_, body = c.get("/admin/audit?type=api_key_created")
	if !strings.Contains(body, "api_key_created") {
		t.Fatal("key creation not audited")
	}
	r := env.client(t)
	r.login("ann")
	if resp, _ := r.get("/admin/apikeys"); resp.StatusCode != 403 {
		t.Fatalf("a reviewer reaches the keys: %d", resp.StatusCode)
	}
}
