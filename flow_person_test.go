package main

import (
	"encoding/json"
	"net/http"
	"realname/config"
	"realname/model/modeltest"
	"slices"
	"strings"
	"testing"
)

// personView is what the person-facing parts of the answer hold.
type personView struct {
	view
	NextAction   string `json:"next_action"`
	RetryAt      string `json:"retry_at"`
	Message      string
	AttemptsLeft int `json:"attempts_left"`
	Error        struct {
		Code       string
		Fields     []string
		NextAction string `json:"next_action"`
	}
}

// paidCalls counts the sandbox's name/ID checks and OCR calls.
func paidCalls(t *testing.T, s *service) int {
	n := 0
	for k, v := range s.calls(t) {
		if strings.Contains(k, "acedata") || strings.Contains(k, "apizero") || strings.Contains(k, "apistore") || strings.Contains(k, "cv/ocr") {
			n += v
		}
	}
	return n
}

// flowConfirmAsRead: the upload answer shows its owner the reading in
// full (the status stays masked), and submit {} confirms it: nothing
// typed.
func flowConfirmAsRead(t *testing.T, s *service) {
	token := s.login(t, "confirm-as-read")
	c := cardByKey(t, "female")
	v := photos(t, s, token, c)
	if v.Front == nil || v.Front.Name != c.Name || v.Front.IDNumber != c.IDNumber {
		t.Fatalf("the upload answer does not show its owner the reading: %+v", v.Front)
	}
	var cur personView
	if st := call(t, "GET", s.url+"/api/v1/verification", token, nil, &cur); st != http.StatusOK || cur.Front == nil ||
		cur.Front.IDNumber == c.IDNumber || cur.NextAction != "confirm" || !strings.Contains(cur.Message, "核对") {
		t.Fatalf("status: %d %+v", st, cur)
	}
	var done personView
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &done); st != http.StatusOK ||
		done.State != "verified" || done.NextAction != "none" || done.Message != "实名认证成功" {
		t.Fatalf("submit {}: %d %+v", st, done)
	}
}

// flowConfirmCorrection: a typed number that is not the card's is asked
// about, for free; confirmed, it is checked.
func flowConfirmCorrection(t *testing.T, s *service) {
	token := s.login(t, "correction-user")
	c := cardByKey(t, "mismatch")
	photos(t, s, token, c)
	before := s.calls(t)
	var cur personView
	call(t, "GET", s.url+"/api/v1/verification", token, nil, &cur)
	left := cur.AttemptsLeft
	// Another valid number (its own check digit), another birth date.
	typo := "440305198807291" + "17" // completed below with its check digit
	typo = withCheckDigit(typo[:17])
	var ans personView
	st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{"id_number": typo}, &ans)
	if st != http.StatusConflict || ans.Error.Code != "confirm_correction" || !slices.Contains(ans.Error.Fields, "id_number") || ans.Error.NextAction != "confirm" {
		t.Fatalf("typo: %d %+v", st, ans)
	}
	if after := s.calls(t); !sameCalls(before, after) {
		t.Errorf("the typo cost vendor calls: %v → %v", before, after)
	}
	call(t, "GET", s.url+"/api/v1/verification", token, nil, &cur)
	if cur.AttemptsLeft != left || cur.State != "recognized" {
		t.Errorf("after the typo: %d attempts left (was %d), state %s", cur.AttemptsLeft, left, cur.State)
	}
	st = call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{"id_number": typo, "confirm": true}, &ans)
	if st != http.StatusOK || ans.State == "recognized" || len(ans.Attempts) == 0 {
		t.Fatalf("confirmed: %d %+v", st, ans)
	}
}

// flowExpiredCard: the back of an expired card is said at upload, with
// what to do, and the decision costs neither an attempt nor a vendor.
func flowExpiredCard(t *testing.T, s *service) {
	token := s.login(t, "expired-card")
	c := cardByKey(t, "expired")
	v := photos(t, s, token, c)
	if !slices.Contains(v.Warnings, "card_expired") {
		t.Fatalf("back upload warnings %v", v.Warnings)
	}
	var cur personView
	call(t, "GET", s.url+"/api/v1/verification", token, nil, &cur)
	if cur.NextAction != "upload_again" || !strings.Contains(cur.Message, "过期") {
		t.Fatalf("status of an expired card: %+v", cur)
	}
	left, paid := cur.AttemptsLeft, paidCalls(t, s)
	var done personView
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &done); st != http.StatusOK ||
		done.State != "rejected" || done.Reason != "card_expired" || done.AttemptsLeft != left {
		t.Fatalf("submit: %d %+v (attempts were %d)", st, done, left)
	}
	if paidCalls(t, s) != paid {
		t.Error("an expired card was sent to a vendor")
	}
}

// flowMinorityName: the dots people type for '·' are the dot on the card.
func flowMinorityName(t *testing.T, s *service) {
	c := cardByKey(t, "minority")
	for i, name := range []string{"艾力.吐尔逊", "艾力 吐尔逊", "艾力・吐尔逊"} {
		token := s.login(t, "minority-"+string(rune('a'+i)))
		photos(t, s, token, c)
		var done personView
		if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{"name": name, "id_number": c.IDNumber}, &done); st != http.StatusOK ||
			!(done.State == "verified" || done.State == "review" && done.Reason == "id_already_bound") {
			t.Fatalf("%s: %d %+v", name, st, done)
		}
	}
}

// flowEnglish: Accept-Language: en gets the same answer in English.
func flowEnglish(t *testing.T, s *service) {
	token := s.login(t, "english-reader")
	req, _ := http.NewRequest("GET", s.url+"/api/v1/verification", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept-Language", "en-US,en;q=0.9,zh;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v personView
	decodeJSON(t, resp, &v)
	if v.NextAction != "upload_again" || !strings.Contains(v.Message, "Not verified yet") {
		t.Fatalf("english status: %+v", v)
	}
}

func sameCalls(a, b map[string]int) bool {
	for k, v := range b {
		if a[k] != v && !strings.Contains(k, "_sandbox") && !strings.Contains(k, "token") {
			return false
		}
	}
	return true
}

// withCheckDigit completes 17 digits with their GB 11643 check digit.
func withCheckDigit(body string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

func decodeJSON(t *testing.T, resp *http.Response, out any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%d, undecodable body: %v", resp.StatusCode, err)
	}
}

// TestAcedataReadingStandsInForTheCheck: with Acedata reading the front,
// its answer's own name/ID verdict decides a submit that confirms the
// reading: no second paid call. A corrected name is checked again.
func TestAcedataReadingStandsInForTheCheck(t *testing.T) {
	s := startService(t, modeltest.Backends()[0], func(c *config.Config) {
		c.OCROrder = []string{"acedata", "wechat", "apizero", "apistore"}
	})
	token := s.login(t, "acedata-first")
	c := cardByKey(t, "male")
	photos(t, s, token, c)
	before := s.calls(t)
	var done personView
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &done); st != http.StatusOK || done.State != "verified" {
		t.Fatalf("submit {}: %d %+v", st, done)
	}
	if !sameCalls(before, s.calls(t)) {
		t.Errorf("the confirmed reading was checked again: %v → %v", before, s.calls(t))
	}
	if len(done.Attempts) != 1 || done.Attempts[0].Outcome != "reused_from_ocr" {
		t.Errorf("attempts %+v", done.Attempts)
	}

	// The mismatch card: Acedata's verdict on its reading is a mismatch.
	token = s.login(t, "acedata-mismatch")
	photos(t, s, token, cardByKey(t, "mismatch"))
	if st := call(t, "POST", s.url+"/api/v1/verification/submit", token, map[string]any{}, &done); st != http.StatusOK ||
		done.State != "rejected" || done.Reason != "name_id_mismatch" {
		t.Fatalf("mismatch confirmed as read: %d %+v", st, done)
	}
}
