package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"realname/model"
	"realname/sandbox"
	"realname/service/store"
)

// prepareFace sets the fakes up for the run: the WeChat fake's by-card
// mode through its control endpoint, and the check vendor's fault
// through the sandbox's faults (and the OCR cache, which must step aside
// for a failing upstream), as bench faults does.
func (f *fakes) prepareFace(ctx context.Context, face faceFlow, checkFault string) error {
	if face.byCard {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, f.url+"/_sandbox/wechat/face/mode", bytes.NewReader([]byte(`{"by_card":true}`)))
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("face by-card mode: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("face by-card mode: %s", resp.Status)
		}
	}
	if checkFault != "" {
		return f.setFault(sandbox.Fault{Upstream: sandbox.AcedataUpstream, Mode: checkFault})
	}
	return nil
}

// faceLabel names the face setup in the run's first line.
func faceLabel(cfg flowConfig) string {
	s := cfg.face.mode
	if cfg.face.on() {
		s += " face_mix=" + cfg.face.mix.String()
		if cfg.face.byCard {
			s += " face_by_card=true"
		}
	}
	if cfg.checkFault != "" {
		s += " check_fault=" + cfg.checkFault
	}
	return s
}

// printFace prints the review count by reason before and after the face
// step, and where the flows that took it ended, by why they took it.
func printFace(w io.Writer, p string, face faceFlow, t faceTally) {
	fmt.Fprintf(w, "%s review_by_reason before_face %s (the submit's answer: review, or face_pending with the check's reason)\n", p, counts(t.before))
	fmt.Fprintf(w, "%s review_by_reason after_face  %s (as the flows ended)\n", p, counts(t.after))
	if t.after["id_already_bound"] > 0 {
		// Every flow reuses one of nine sample cards on a new account, and
		// the service verifies one number on at most 100 (the highest
		// REALNAME_POLICY_ACCOUNTS_PER_ID allows): per-verified figures
		// of a longer run count those reviews too.
		fmt.Fprintf(w, "%s note: id_already_bound is the bench's nine cards past 100 accounts each; -verifications 810 or fewer stays under it\n", p)
	}
	if !face.on() {
		return
	}
	fmt.Fprintf(w, "%s face checks=%d played %s passed_face_then_review %s\n", p, t.checks, counts(t.played), counts(t.passedToStaff))
	for _, why := range faceReasons(t) {
		fmt.Fprintf(w, "%s face from=%s %s\n", p, why, counts(faceEnds(t, why)))
	}
}

// faceReasons are why flows took the face step, sorted.
func faceReasons(t faceTally) []string {
	seen := map[string]bool{}
	for k := range t.ends {
		why, _, _ := strings.Cut(k, ":")
		seen[why] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// faceEnds is the final states of the flows that took the face step for why.
func faceEnds(t faceTally, why string) map[string]int {
	out := map[string]int{}
	for k, n := range t.ends {
		if r, state, _ := strings.Cut(k, ":"); r == why {
			out[state] += n
		}
	}
	return out
}

// printFaceTargets says whether the run meets the face targets of issue
// 23; reported, not enforced, like printTargets.
func printFaceTargets(w io.Writer, face faceFlow, r loadResult, calls upstreamCalls) {
	verdict := map[bool]string{true: "met", false: "NOT met"}
	verified := r.outcomes["verified"]
	switch face.mode {
	case faceRequired:
		fmt.Fprintf(w, "flow: target -face required: 0 paid name/ID checks per verified (paid calls = OCR only): check_calls=%d ocr_calls=%d verified=%d %s\n",
			calls.check, calls.ocr, verified, verdict[calls.check == 0 && verified > 0])
	case faceFallback:
		for _, why := range faceReasons(r.face) {
			ends := faceEnds(r.face, why)
			n := 0
			for _, k := range ends {
				n += k
			}
			// Staff after a face pass for a reason a face check settles
			// (the two fallback offers it for) misses the target;
			// id_already_bound is the binding rule, kept after a pass.
			waited := r.face.passedToStaff["no_record"] + r.face.passedToStaff["source_unavailable"]
			fmt.Fprintf(w, "flow: target -face fallback: %s flows end verified by face, none waits for staff after a face pass: flows=%d verified=%d review=%d passed_face_then_review=%s %s\n",
				why, n, ends["verified"], ends["review"], counts(r.face.passedToStaff), verdict[ends["verified"] > 0 && waited == 0])
		}
	}
}

// verifiedModes counts the verified verifications by how they were
// decided (photo, check, photo_face, check_face …): with the check vendor
// down, every one must have been decided by a face pass.
func (s *stack) verifiedModes(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Mode string
		N    int64
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.db.WithContext(qctx).Model(&model.Verification{}).Select("mode, count(*) AS n").
		Where("state = ?", string(store.Verified)).Group("mode").Scan(&rows).Error
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Mode] = r.N
	}
	return out, err
}
