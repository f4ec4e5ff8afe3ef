package review

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"realname/model"
	"realname/service/verify"
)

// ChainReport is the result of checking the audit trail.
type ChainReport struct {
	Events int         // events checked
	Chains int         // chains (verifications, plus one per staff actor for events about no case)
	Broken *BrokenLink // the first broken event; nil when the trail is intact
}

// BrokenLink names an event whose hash or link does not hold.
type BrokenLink struct {
	Event   model.VerificationEvent
	Problem string // "hash" (content changed) or "link" (an entry before it was removed, added or changed)
}

func (b *BrokenLink) String() string {
	vid := "none"
	if b.Event.VerificationID != nil {
		vid = fmt.Sprint(*b.Event.VerificationID)
	}
	return fmt.Sprintf("event %d (verification %s, actor %s, type %s): broken %s", b.Event.ID, vid, b.Event.Actor, b.Event.Type, b.Problem)
}

// VerifyChain walks every chain of the audit trail and reports the first
// event whose own hash does not match its content, or whose PrevHash is not
// the hash of the entry before it in its chain. It reads in keyset batches
// ordered along the chains, so memory stays flat at any size.
//
// What a hash chain cannot show: deleting the newest entries of a chain
// leaves a shorter, valid chain. Anchor heads elsewhere if that matters.
func VerifyChain(ctx context.Context, db *gorm.DB) (ChainReport, error) {
	var rep ChainReport
	// Events of a verification, chained per verification.
	var lastVID, lastID int64
	prev, first := "", true
	for {
		var rows []model.VerificationEvent
		err := db.WithContext(ctx).Where("verification_id IS NOT NULL").
			Where("verification_id > ? OR (verification_id = ? AND id > ?)", lastVID, lastVID, lastID).
			Order("verification_id, id").Limit(1000).Find(&rows).Error
		if err != nil {
			return rep, fmt.Errorf("review: verify chain: %w", err)
		}
		for _, e := range rows {
			if first || *e.VerificationID != lastVID {
				rep.Chains++
				prev, first = "", false
			}
			if b := check(e, prev); b != nil {
				rep.Broken = b
				return rep, nil
			}
			rep.Events++
			prev, lastVID, lastID = e.Hash, *e.VerificationID, e.ID
		}
		if len(rows) == 0 {
			break
		}
	}
	// Events about no case, chained per actor.
	lastActor := ""
	lastID, prev, first = 0, "", true
	for {
		var rows []model.VerificationEvent
		err := db.WithContext(ctx).Where("verification_id IS NULL").
			Where("actor > ? OR (actor = ? AND id > ?)", lastActor, lastActor, lastID).
			Order("actor, id").Limit(1000).Find(&rows).Error
		if err != nil {
			return rep, fmt.Errorf("review: verify chain: %w", err)
		}
		for _, e := range rows {
			if first || e.Actor != lastActor {
				rep.Chains++
				prev, first = "", false
			}
			if b := check(e, prev); b != nil {
				rep.Broken = b
				return rep, nil
			}
			rep.Events++
			prev, lastActor, lastID = e.Hash, e.Actor, e.ID
		}
		if len(rows) == 0 {
			break
		}
	}
	return rep, nil
}

func check(e model.VerificationEvent, prev string) *BrokenLink {
	if e.PrevHash != prev {
		return &BrokenLink{Event: e, Problem: "link"}
	}
	if verify.EventHash(e) != e.Hash {
		return &BrokenLink{Event: e, Problem: "hash"}
	}
	return nil
}
