package review

import (
	"context"
	"fmt"
	"time"

	"realname/model"
	"realname/service/store"
)

// Trends is the last days of work, for the dashboard's charts: each day's
// flow and paid vendor calls, the funnel over those days, the outcomes by
// reason, and how the review backlog stands against the SLA.
type Trends struct {
	Days       []Day         // oldest first, ending today
	Funnel     Funnel        // summed over Days
	Outcomes   []ReasonCount // cases decided in the period and cases in review, by state and reason
	Overdue    int64         // in review longer than the SLA
	OldestWait time.Duration // of the case waiting longest in review
}

// Day is one day (in the service's zone) of verifications and vendor calls.
type Day struct {
	Start                          time.Time
	Started, Recognized, Submitted int64
	Verified, Rejected, Review     int64
	Paid                           map[string]int64 // provider → calls that got an answer (what vendors bill)
	Failed                         map[string]int64 // provider → calls that failed
}

// Funnel counts how far verifications got: started (first photo),
// recognised (both sides read), submitted (checked), decided, verified.
type Funnel struct {
	Started, Recognized, Submitted, Decided, Verified int64
}

// ReasonCount is how many cases ended in (or wait in) State for Reason.
type ReasonCount struct {
	State, Reason string
	N             int64
}

// maxTrendDays bounds the work one dashboard view asks of the database.
const maxTrendDays = 31

// Trends counts the last days (today included) from the event and
// attempt tables: a few indexed counts per day, never the rows.
func (s *Service) Trends(ctx context.Context, days int, sla time.Duration) (Trends, error) {
	days = min(max(days, 1), maxTrendDays)
	now := s.now()
	today := s.today(now)
	var out Trends
	db := s.reads.WithContext(ctx)
	for i := days - 1; i >= 0; i-- {
		from := today.AddDate(0, 0, -i)
		to := from.AddDate(0, 0, 1)
		day := Day{Start: from, Paid: map[string]int64{}, Failed: map[string]int64{}}
		var moves []struct {
			Type    string
			ToState store.State
			N       int64
		}
		err := db.Model(&model.VerificationEvent{}).Select("type, to_state, COUNT(DISTINCT verification_id) AS n").
			Where("created_at >= ? AND created_at < ? AND verification_id IS NOT NULL AND from_state <> to_state", from.UTC(), to.UTC()).
			Group("type, to_state").Scan(&moves).Error
		if err != nil {
			return out, fmt.Errorf("review: trends: %w", err)
		}
		for _, mv := range moves {
			switch {
			case mv.Type == "created":
				day.Started += mv.N
			case mv.ToState == store.Recognized:
				day.Recognized += mv.N
			case mv.ToState == store.Checking:
				day.Submitted += mv.N
			case mv.ToState == store.Verified:
				day.Verified += mv.N
			case mv.ToState == store.Rejected:
				day.Rejected += mv.N
			case mv.ToState == store.Review:
				day.Review += mv.N
			}
		}
		var calls []struct {
			Provider, Outcome string
			N                 int64
		}
		err = db.Model(&model.ProviderAttempt{}).Select("provider, outcome, COUNT(*) AS n").
			Where("created_at >= ? AND created_at < ?", from.UTC(), to.UTC()).Group("provider, outcome").Scan(&calls).Error
		if err != nil {
			return out, fmt.Errorf("review: trends calls: %w", err)
		}
		for _, c := range calls {
			switch called, failed := callOutcome(c.Outcome); {
			case failed:
				day.Failed[c.Provider] += c.N
			case called:
				day.Paid[c.Provider] += c.N
			}
		}
		out.Days = append(out.Days, day)
		out.Funnel.Started += day.Started
		out.Funnel.Recognized += day.Recognized
		out.Funnel.Submitted += day.Submitted
		out.Funnel.Decided += day.Verified + day.Rejected
		out.Funnel.Verified += day.Verified
	}
	since := today.AddDate(0, 0, -(days - 1)).UTC()
	err := db.Model(&model.Verification{}).Select("state, reason, COUNT(*) AS n").
		Where("(decided_at >= ? AND state IN ?) OR state = ?", since, []string{string(store.Verified), string(store.Rejected)}, string(store.Review)).
		Group("state, reason").Order("n DESC").Limit(40).Scan(&out.Outcomes).Error
	if err != nil {
		return out, fmt.Errorf("review: trends outcomes: %w", err)
	}
	b, err := s.Backlog(ctx, sla)
	if err != nil {
		return out, fmt.Errorf("review: trends: %w", err)
	}
	out.Overdue, out.OldestWait = b.Overdue, b.OldestWait
	return out, nil
}
