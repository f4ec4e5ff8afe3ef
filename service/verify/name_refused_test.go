package verify

import (
	"context"
	"errors"
	"maps"
	"testing"

	"gorm.io/gorm"

	"realname/model/modeltest"
)

// TestRefusedNamesCostNothing: a name the local rules refuse (another
// script, a mix, a blank inside) is answered name_invalid by Check and by
// Submit before any vendor is called: the sandbox counts no call.
func TestRefusedNamesCostNothing(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		card, _, _ := sampleCard(t, "male")
		u := f.user(t, "o-names")
		f.recognized(t, u, "male")
		before := maps.Clone(f.srv.Calls())
		for _, name := range []string{"John Smith", "林John", "ＬＩＮ浩然", "Иван", "김민준", "林\u200b浩然", "林\t浩然", "王\u337F", "王\u2E8C"} {
			if _, err := f.svc.Check(ctx, u, Claim{Name: name, IDNumber: card.IDNumber, Consent: "v1"}); !errors.Is(err, ErrNameInvalid) {
				t.Errorf("check %q: %v, want name_invalid", name, err)
			}
			if _, err := f.svc.Submit(ctx, u, Claim{Name: name}); !errors.Is(err, ErrNameInvalid) {
				t.Errorf("submit %q: %v, want name_invalid", name, err)
			}
		}
		if after := f.srv.Calls(); !maps.Equal(before, after) {
			t.Errorf("refused names reached a vendor: calls %v, then %v", before, after)
		}
	})
}
