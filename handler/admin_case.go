package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/review"
	"realname/service/store"
	"realname/service/wording"
	"realname/web"
)

type caseData struct {
	review.Case
	Reasons  []rejectChoice
	Mine     bool // the viewer holds the claim
	InReview bool
	Confirm  *confirmStep // a decision waiting for the reviewer's confirmation
	Timeline []timelineRow
	Prev     string // the case decided just before, when the page follows a decision
	Next     int64  // the next case waiting in review (shortcut N); 0 for none
}

// rejectChoice is a canned reject reason with the words the user will
// read in their status and subscription message, in both languages.
type rejectChoice struct {
	Code, UserZH, UserEN string
}

// confirmStep is a decision posted without confirm=1, shown back to be
// confirmed with the values the reviewer entered.
type confirmStep struct {
	Action, Reason, Note string
}

// timelineRow is an event with its data as readable pairs, not JSON.
type timelineRow struct {
	review.AuditEntry
	Details []detail
}

type detail struct{ Key, Value string }

func (p *adminPages) showCase(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	cs, err := p.review.CaseFor(c.Request.Context(), id, staffOf(c).AdminID)
	p.renderCase(c, cs, err, nil)
}

// reveal records the audited look and redirects to the case page
// (POST-redirect-GET): the page then shows the values for the reveal
// window, and reloading it shows them again without a second audit entry.
func (p *adminPages) reveal(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	me := staffOf(c)
	_, err := p.review.Reveal(c.Request.Context(), id, review.Staff{AdminID: me.AdminID, Admin: me.IsAdmin()}, c.PostForm("reason"))
	switch {
	case errors.Is(err, review.ErrErased):
		back(c, caseURL(id), "err", "erased")
	case errors.Is(err, review.ErrRevealNotClaimed):
		back(c, caseURL(id), "err", "reveal_not_claimed")
	case errors.Is(err, review.ErrRevealReason):
		back(c, caseURL(id), "err", "reveal_reason")
	case errors.Is(err, review.ErrRevealRate):
		back(c, caseURL(id), "err", "reveal_rate")
	case errors.Is(err, review.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "error.no_case")
	case err != nil:
		p.fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, caseURL(id)+"#photos")
	}
}

func (p *adminPages) renderCase(c *gin.Context, cs review.Case, err error, confirm *confirmStep) {
	if errors.Is(err, review.ErrNotFound) {
		p.errorPage(c, http.StatusNotFound, "error.no_case")
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	me := staffOf(c).AdminID
	d := caseData{Case: cs, InReview: cs.State == store.Review, Confirm: confirm,
		Mine: cs.LiveClaimUntil != nil && cs.ClaimedBy != nil && *cs.ClaimedBy == me}
	d.Next = p.nextCase(c, cs.ID)
	for _, code := range review.RejectReasons {
		d.Reasons = append(d.Reasons, rejectChoice{Code: code, UserZH: wording.Reason(wording.Chinese, code),
			UserEN: wording.Reason(wording.English, code)})
	}
	l := p.locale(c)
	for _, e := range cs.Events {
		d.Timeline = append(d.Timeline, timelineRow{AuditEntry: e, Details: details(l, e.Data, e.Texts)})
	}
	if n, err := strconv.ParseInt(c.Query("prev"), 10, 64); err == nil && n > 0 {
		d.Prev = strconv.FormatInt(n, 10)
	}
	p.render(c, http.StatusOK, "admin_case.html", "case.title", d)
}

// details turns an event's JSON data into sorted key/value pairs for a
// person: times in the pages' zone, provider calls as "provider outcome
// (code) latency", codes in words, empty values left out; anything else
// as compact JSON.
func details(l *web.Locale, data string, texts map[string]string) []detail {
	if data == "" || data == "{}" || data == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return []detail{{Key: "data", Value: data}}
	}
	out := make([]detail, 0, len(m))
	for k, v := range m {
		if key, ok := strings.CutSuffix(k, "_digest"); ok && texts != nil {
			// Free text is chained as a digest: show its words, or that
			// erasure deleted them.
			words := texts[key]
			if words == review.TextErased || words == "" {
				words = l.T("detail.text_erased")
			}
			out = append(out, detail{Key: key, Value: words})
			continue
		}
		if s := detailValue(l, k, v); s != "" {
			out = append(out, detail{Key: k, Value: s})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func detailValue(l *web.Locale, key string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return l.Seconds(t)
		}
		switch key {
		case "reason":
			return l.Code("reason", x)
		case "outcome":
			return l.Code("outcome", x)
		case "side":
			return l.Code("side", x)
		case "mode":
			return l.Code("mode", x)
		case "face":
			return l.Code("face", x)
		}
		return x
	case bool:
		if x {
			return l.T("detail.yes")
		}
		return l.T("detail.no")
	case []any:
		if key == "attempts" {
			var calls []string
			for _, a := range x {
				if call, ok := a.(map[string]any); ok {
					calls = append(calls, attemptText(l, call))
				}
			}
			return strings.Join(calls, "; ")
		}
		if len(x) == 0 {
			return ""
		}
		parts := make([]string, len(x))
		for i, e := range x {
			if f, ok := e.(string); ok && (key == "fields" || key == "corrected") {
				parts[i] = l.Code("field", f)
				continue
			}
			parts[i] = detailValue(l, key, e)
		}
		if l.English() {
			return strings.Join(parts, ", ")
		}
		return strings.Join(parts, "、")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// attemptText is one recorded provider call: "acedata 无记录 (-5) 12 ms".
func attemptText(l *web.Locale, call map[string]any) string {
	s := fmt.Sprint(call["provider"])
	if o, ok := call["outcome"].(string); ok {
		s += " " + l.Code("outcome", o)
	}
	if code, ok := call["code"].(string); ok && code != "" {
		s += " (" + code + ")"
	}
	if ms, ok := call["latency_ms"].(float64); ok {
		s += fmt.Sprintf(" %.0f ms", ms)
	}
	return s
}

// photo streams one side's photo, decrypted, to a reviewer who revealed the
// case; never cached.
func (p *adminPages) photo(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	data, err := p.review.Photo(c.Request.Context(), id, staffOf(c).AdminID, c.Param("side"))
	switch {
	case errors.Is(err, review.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "error.no_photo")
	case errors.Is(err, review.ErrRevealRequired):
		p.errorPage(c, http.StatusForbidden, "error.reveal_first")
	case errors.Is(err, review.ErrPhotosGone):
		p.errorPage(c, http.StatusGone, "error.photos_gone")
	case err != nil:
		p.fail(c, err)
	default:
		c.Header("Content-Disposition", "inline")
		c.Data(http.StatusOK, http.DetectContentType(data), data)
	}
}
