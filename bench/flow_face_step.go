package main

import (
	"context"
	"encoding/json"
)

// faceConsentBody is what a user sends to start a face check: the
// service's default face notice version (REALNAME_FACE_CONSENT_VERSION),
// sent on every start since agreeing again is allowed.
const faceConsentBody = `{"consent_version":"face-v1"}`

// faceTally is what the face step did, per user and merged like flowTally.
type faceTally struct {
	checks int            // verify_ids the users were given
	played map[string]int // outcome the phone played → count
	// before is the review count by reason as the submit answered: review,
	// or face_pending with the check's reason (fallback: where the case
	// would have gone to staff without the face check). after is the
	// review count by reason as the flows ended.
	before, after map[string]int
	// ends is "why the face step was offered:final state" → flows; the
	// reason is the check's (fallback) or "required".
	ends map[string]int
	// passedToStaff is flows whose last face check the phone passed
	// (10000) that still ended in review, by the review's reason: the
	// fallback target wants none for a reason a face check settles. A
	// number bound to its most accounts (id_already_bound) keeps its rule
	// after a face pass, and the bench's nine cards reach the limit
	// (REALNAME_POLICY_ACCOUNTS_PER_ID, at most 100) in a few seconds.
	passedToStaff map[string]int
}

func newFaceTally() faceTally {
	return faceTally{played: map[string]int{}, before: map[string]int{}, after: map[string]int{}, ends: map[string]int{}, passedToStaff: map[string]int{}}
}

func (f *faceTally) add(o *faceTally) {
	f.checks += o.checks
	for _, p := range [][2]map[string]int{{f.played, o.played}, {f.before, o.before}, {f.after, o.after}, {f.ends, o.ends}, {f.passedToStaff, o.passedToStaff}} {
		for k, n := range p[1] {
			p[0][k] += n
		}
	}
}

// record counts one finished flow: the submit's answer, the final one,
// and the verify_ret the phone played last (0: none, or left to the fake).
func (f *faceTally) record(sub, final answer, lastRet int) {
	if sub.State == "review" || (sub.State == "face_pending" && sub.Reason != "") {
		f.before[sub.Reason]++
	}
	if final.State == "review" {
		f.after[final.Reason]++
	}
	if sub.State != "face_pending" {
		return
	}
	why := sub.Reason
	if why == "" {
		why = faceRequired
	}
	f.ends[why+":"+final.State]++
	if lastRet == 10000 && final.State == "review" {
		f.passedToStaff[final.Reason]++
	}
}

// faceStep takes a verification waiting in face_pending through the face
// check as the Mini Program does: POST /face (a verify_id), the phone
// runs wx.requestFacialVerify (here the sandbox control plays the drawn
// outcome), POST /face/result. A cancel is retried once with a new
// verify_id; a second cancel leaves the verification waiting, as a user
// who gives up would. It answers the last view and the verify_ret played
// last; false when a request failed (already recorded).
func (l *load) faceStep(ctx context.Context, t *flowTally, n int64, card cardRequests, token string) (answer, int, bool) {
	f := l.cfg.face
	r := f.rng(n)
	var (
		a       answer
		ok      bool
		lastRet int
	)
	for try := 0; try < 2; try++ {
		if a, ok = l.call(ctx, t, stepFaceStart, "/api/v1/verification/face", token, "application/json", []byte(faceConsentBody)); !ok {
			return a, 0, false
		}
		if a.Face == nil || a.Face.VerifyID == "" {
			l.fail(t, stepFaceStart, "no_verify_id", "the answer carried no face.verify_id")
			return a, 0, false
		}
		t.face.checks++
		o := f.mix.draw(r.Float64())
		t.face.played[o.name]++
		lastRet = f.retFor(o, card.check)
		if lastRet != 0 {
			body, _ := json.Marshal(map[string]any{"verify_id": a.Face.VerifyID, "verify_ret": lastRet})
			if _, ok := l.send(ctx, t, stepFacePhone, f.sandbox+"/_sandbox/wechat/face", "", "application/json", body); !ok {
				return a, 0, false
			}
		}
		if a, ok = l.call(ctx, t, stepFaceResult, "/api/v1/verification/face/result", token, "application/json", []byte("{}")); !ok {
			return a, 0, false
		}
		if o.name != "cancel" || a.State != "face_pending" {
			break
		}
	}
	return a, lastRet, true
}
