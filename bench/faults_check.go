package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"realname/model"
	"realname/service/store"
)

// decisionHooks are the outbox event types of a decided verification.
var decisionHooks = []string{"verification.verified", "verification.rejected", "verification.review_required"}

// report checks the database against what the users were told, then prints
// the outcome and the summary line.
func (f *faultRun) report(ctx context.Context, res loadResult, scenarios int) error {
	w, st := f.stdout, f.st
	p := "faults:"
	fmt.Fprintf(w, "%s load verifications=%d started=%d wall_s=%.1f verifications_per_s=%.1f\n",
		p, res.completed, res.started, res.wall.Seconds(), res.perSecond())
	printSteps(w, "faults: load", res, 0)
	printErrors(w, "faults: load", res.flowTally)
	for _, c := range st.failureCauses(12) {
		fmt.Fprintf(w, "faults: load   logged cause: %s\n", c)
	}

	states, err := st.states(ctx)
	if err != nil {
		return fmt.Errorf("count verifications: %w", err)
	}
	var total int64
	for _, n := range states {
		total += n
	}
	decided := states[string(store.Verified)] + states[string(store.Rejected)] + states[string(store.Review)]
	abandoned := states[string(store.Draft)] + states[string(store.Recognized)]
	stuck := states[string(store.Checking)]
	contradicted, err := f.contradicted(ctx, res.decided)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s db_states %s\n", p, counts(states))
	fmt.Fprintf(w, "%s decided=%d (verified, rejected, review) abandoned=%d (draft/recognized: the user's request failed and they left) expired=%d\n",
		p, decided, abandoned, states[string(store.Expired)])
	fmt.Fprintf(w, "%s stuck_in_checking=%d (the sweeper sends them to review only after 10 minutes) answered_but_not_in_db=%d\n",
		p, stuck, contradicted)
	lost := stuck + int64(contradicted)

	missing, err := f.outboxMissing(ctx)
	if err != nil {
		return err
	}
	hooksLost := missing
	if f.wired {
		undelivered, err := f.awaitDeliveries(ctx)
		if err != nil {
			return err
		}
		hooksLost += undelivered
		fmt.Fprintf(w, "%s webhooks: decisions_without_outbox_row=%d outbox_events_never_received=%d\n", p, missing, undelivered)
	} else {
		fmt.Fprintf(w, "%s webhooks: not wired (the built binary has no REALNAME_WEBHOOK_URL): receiver scenario skipped; webhooks_lost counts decided verifications without their outbox row (%d)\n",
			p, missing)
	}

	panics, first := st.panics()
	died := 0
	for _, in := range st.children {
		if in.exited() {
			died++
		}
	}
	fmt.Fprintf(w, "%s panics=%d instances_exited=%d loadavg=%s\n", p, panics, died, loadAvg())
	if first != "" {
		fmt.Fprintf(w, "%s first panic line: %s\n", p, first)
	}
	failed := lost > 0 || hooksLost > 0 || panics > 0 || died > 0 || res.completed == 0
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(w, "faults: INCOMPLETE: interrupted or out of time")
		failed = true
	case failed:
		st.keep = true
		fmt.Fprintf(w, "faults: FAILED: want lost=0 webhooks_lost=0 panics=0, every instance up, verifications > 0; logs: %s\n", st.logs())
	}
	fmt.Fprintf(w, "faults: scenarios=%d verifications=%d lost=%d webhooks_lost=%d\n", scenarios, total, lost, hooksLost)
	if failed {
		return errFailed
	}
	return nil
}

// contradicted counts the verifications whose decision a user was shown
// but the database does not hold.
func (f *faultRun) contradicted(ctx context.Context, answered map[int64]string) (int, error) {
	ids := slices.Sorted(maps.Keys(answered))
	n := 0
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		var rows []struct {
			ID    int64
			State string
		}
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f.st.db.WithContext(qctx).Model(&model.Verification{}).Select("id, state").Where("id IN ?", batch).Scan(&rows).Error
		cancel()
		if err != nil {
			return 0, fmt.Errorf("read decisions: %w", err)
		}
		inDB := map[int64]string{}
		for _, r := range rows {
			inDB[r.ID] = r.State
		}
		for _, id := range batch {
			if inDB[id] != answered[id] {
				n++
			}
		}
	}
	return n, nil
}

// outboxMissing counts decided verifications without the outbox row their
// decision must have been written with.
func (f *faultRun) outboxMissing(ctx context.Context) (int64, error) {
	var n int64
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := f.st.db.WithContext(qctx).Raw(`SELECT count(*) FROM verifications v
		WHERE v.state IN ? AND NOT EXISTS (
			SELECT 1 FROM webhook_events e WHERE e.verification_id = v.id AND e.type IN ?)`,
		[]string{string(store.Verified), string(store.Rejected), string(store.Review)}, decisionHooks).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count outbox rows: %w", err)
	}
	return n, nil
}

// awaitDeliveries waits up to two minutes for every outbox event to reach
// the receiver (retries of those sent while it was down included) and
// returns how many never did.
func (f *faultRun) awaitDeliveries(ctx context.Context) (int64, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var ids []string
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := f.st.db.WithContext(qctx).Model(&model.WebhookEvent{}).Pluck("id", &ids).Error
		cancel()
		if err != nil {
			return 0, fmt.Errorf("read outbox: %w", err)
		}
		var missing int64
		for _, id := range ids {
			if !f.hooks.received(id) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return missing, nil
		}
		sleepCtx(ctx, time.Second)
	}
}
