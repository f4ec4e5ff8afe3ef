package review

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
)

// purposeSearch keys the hash of a searched number in the audit trail. It
// is not the lookup hash (pii.PurposeIDNumber): the trail says who searched
// for what without being a second index of the numbers on file.
const purposeSearch = "audit_id_number_search"

// SearchNumber finds the cases of a full ID number in any state, and
// records in the staff member's audit chain that they searched: the
// number's keyed hash, how many cases it found and which, never the
// number. The record is written before the answer is returned.
func (s *Service) SearchNumber(ctx context.Context, adminID int64, number string) (QueuePage, error) {
	number = normalizeIDNumber(strings.TrimSpace(number), s.now())
	page, err := s.Queue(ctx, QueueFilter{State: StateAny, IDNumber: number, Limit: 200})
	if err != nil {
		return QueuePage{}, err
	}
	ids := make([]int64, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	err = s.store.AppendAction(ctx, Actor(adminID), EventNumberSearched, map[string]any{
		"number_hash": hex.EncodeToString(s.crypto.Hash(purposeSearch, []byte(number))), "found": len(ids), "cases": ids})
	if err != nil {
		return QueuePage{}, fmt.Errorf("review: audit search: %w", err)
	}
	return page, nil
}
