package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"gorm.io/gorm/clause"

	"realname/model"
)

// Text is free text written by staff or a business system about a
// verification (a reviewer's note, a revoke reason). It never enters the
// audit chain in clear: the chained event carries "<Key>_digest", a keyed
// hash, and the words live sealed in event_texts, which erasure deletes.
type Text struct {
	Key    string // the event data key it stands for: "note", "reason"
	Digest string // hex keyed hash of the text (TextDigest)
	Sealed []byte // the text sealed with TextAAD
}

// Sealer seals texts and keys their digests (pii.KeyRing).
type Sealer interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Hash(purpose string, value []byte) []byte
}

// SealText seals text for verification vid under key. Its digest is keyed
// and per verification, so no stored digest tells what a note said.
func SealText(k Sealer, vid int64, key, text string) (Text, error) {
	digest := TextDigest(k, vid, text)
	sealed, err := k.Encrypt([]byte(text), TextAAD(vid, digest))
	if err != nil {
		return Text{}, fmt.Errorf("store: seal %s: %w", key, err)
	}
	return Text{Key: key, Digest: digest, Sealed: sealed}, nil
}

// TextDigest is the keyed digest of text as verification vid's event
// carries it.
func TextDigest(k interface{ Hash(string, []byte) []byte }, vid int64, text string) string {
	return hex.EncodeToString(k.Hash("event_text", []byte(strconv.FormatInt(vid, 10)+"\x00"+text)))
}

// TextAAD binds a sealed text to its verification and digest: a sealed
// note moved to another case or event does not open.
func TextAAD(vid int64, digest string) []byte {
	return []byte("event_text:" + strconv.FormatInt(vid, 10) + ":" + digest)
}

// withDigests returns data with each text's digest under "<key>_digest".
func withDigests(data map[string]any, texts []Text) map[string]any {
	if len(texts) == 0 {
		return data
	}
	out := make(map[string]any, len(data)+len(texts))
	for k, v := range data {
		out[k] = v
	}
	for _, t := range texts {
		out[t.Key+"_digest"] = t.Digest
	}
	return out
}

// saveTexts writes the sealed texts of one step; a text already stored for
// the verification (the same words twice) is kept once.
func (s *Store) saveTexts(ctx context.Context, vid int64, texts []Text) error {
	if len(texts) == 0 {
		return nil
	}
	now := s.clk.Now()
	rows := make([]model.EventText, len(texts))
	for i, t := range texts {
		rows[i] = model.EventText{VerificationID: vid, Digest: t.Digest, TextEnc: t.Sealed, CreatedAt: now}
	}
	if err := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: save texts: %w", err)
	}
	return nil
}

// SealedTexts lists the sealed texts of the verifications vids; erased
// verifications have none.
func (s *Store) SealedTexts(ctx context.Context, vids ...int64) ([]model.EventText, error) {
	if len(vids) == 0 {
		return nil, nil
	}
	var rows []model.EventText
	if err := s.conn(ctx).Where("verification_id IN ?", vids).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: texts: %w", err)
	}
	return rows, nil
}

// OpenTexts opens rows into a map from verification id and digest to the
// words. A text that does not open is an error: the key ring lost a key.
func OpenTexts(k interface {
	Decrypt(ciphertext, aad []byte) ([]byte, error)
}, rows []model.EventText) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	for _, r := range rows {
		raw, err := k.Decrypt(r.TextEnc, TextAAD(r.VerificationID, r.Digest))
		if err != nil {
			return nil, fmt.Errorf("store: open text %d: %w", r.ID, err)
		}
		if out[r.VerificationID] == nil {
			out[r.VerificationID] = map[string]string{}
		}
		out[r.VerificationID][r.Digest] = string(raw)
	}
	return out, nil
}
