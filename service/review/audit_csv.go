package review

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"realname/model"
)

// csvTexts writes an entry's free text as key=words pairs; words deleted
// by an erasure read "(erased)".
func csvTexts(texts map[string]string) string {
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		words := texts[k]
		if words == TextErased {
			words = "(erased)"
		}
		parts[i] = k + "=" + words
	}
	return strings.Join(parts, "; ")
}

// WriteAuditCSV streams the staff actions matching f as CSV, oldest first,
// in batches so a long history never sits in memory at once. Times are in
// f.Zone (UTC when nil): "at" as ISO 8601 with its offset, "at_local" as
// the pages show it; "data" is the chained event as stored (free text as
// its digest), "text" the words behind the digests while they exist.
func (s *Service) WriteAuditCSV(ctx context.Context, w io.Writer, f AuditFilter) error {
	zone := f.Zone
	if zone == nil {
		zone = time.UTC
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "at", "at_local", "actor", "username", "type", "verification_id", "from_state", "to_state", "data", "text", "hash"}); err != nil {
		return err
	}
	var after int64
	for {
		var rows []model.VerificationEvent
		err := s.staffActions(ctx, f).Where("id > ?", after).Order("id").Limit(1000).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("review: audit export: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		entries, err := s.named(ctx, rows)
		if err != nil {
			return err
		}
		for _, e := range entries {
			at := e.CreatedAt.In(zone)
			rec := []string{fmt.Sprint(e.ID), at.Format(time.RFC3339Nano), at.Format("2006-01-02 15:04:05"), e.Actor, e.ActorName, e.Type,
				e.Case(), string(e.FromState), string(e.ToState), e.Data, csvTexts(e.Texts), e.Hash}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		after = rows[len(rows)-1].ID
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
