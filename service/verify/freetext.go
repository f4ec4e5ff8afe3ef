package verify

import (
	"fmt"
	"unicode/utf8"

	"realname/model"
	"realname/service/pii"
	"realname/service/store"
)

// FreeText prepares words staff or a business system write about v (a
// reviewer's note, a revoke reason) for the audit trail: bounded to max
// runes, ID and phone numbers masked, the holder's own name and address
// (as read from the card and as submitted) masked, then sealed as a
// store.Text under key. The chain gets its digest; erasure deletes the
// words. It returns the masked words too, for the user's status.
func FreeText(c Crypto, v *model.Verification, key, text string, max int) (store.Text, string, error) {
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max])
	}
	names, address, err := holderWords(c, v)
	if err != nil {
		return store.Text{}, "", err
	}
	text = pii.MaskHolder(pii.MaskText(text), names, address)
	t, err := store.SealText(c, v.ID, key, text)
	return t, text, err
}

// holderWords opens what names v's holder: the submitted name, and the
// names and address the card was read with.
func holderWords(c Crypto, v *model.Verification) ([]string, string, error) {
	var names []string
	if len(v.NameEnc) > 0 {
		raw, err := c.Decrypt(v.NameEnc, aad(v, "name_enc"))
		if err != nil {
			return nil, "", fmt.Errorf("verify: open name: %w", err)
		}
		names = append(names, string(raw))
	}
	cd, err := openCard(c, v)
	if err != nil {
		return nil, "", err
	}
	address := ""
	if cd.Front != nil {
		names = append(names, cd.Front.Name)
		address = cd.Front.Address
	}
	return names, address, nil
}
