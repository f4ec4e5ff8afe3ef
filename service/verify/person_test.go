package verify

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"gorm.io/gorm"

	"realname/model/modeltest"
	"realname/service/store"
)

// TestGuardianConsentAndLocalDecisions: a holder under GuardianUnder goes
// to review for a guardian's consent before any vendor sees the number,
// and like an expired card uses none of the day's attempts.
func TestGuardianConsentAndLocalDecisions(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		f.svc.policy.GuardianUnder = 18 // the sample minor is 16 on the fixture's day
		ctx := context.Background()
		u := f.user(t, "o-child")
		f.recognized(t, u, "minor")
		paid := f.srv.Calls()["acedata POST /acedata/identity/idcard/ocr"]
		v, err := f.svc.Submit(ctx, u, Claim{})
		if err != nil || v.State != string(store.Review) || v.Reason != ReasonGuardianConsent || v.NextAction != NextContactSupport {
			t.Fatalf("minor: %+v %v", v, err)
		}
		if f.srv.Calls()["acedata POST /acedata/identity/idcard/ocr"] != paid || v.AttemptsLeft != f.svc.policy.AttemptsPerDay {
			t.Errorf("a local decision paid a vendor or used an attempt (%d left)", v.AttemptsLeft)
		}
	})
}

// TestConfirmCorrection: a typed name or number other than the card's, or
// a number the card's birth date contradicts, is asked about first; the reading
// confirmed as it is needs nothing typed.
func TestConfirmCorrection(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	ctx := context.Background()
	u := f.user(t, "o-typist")
	c, _ := f.recognized(t, u, "male")
	other := "11010119900515" + "213" // another birth date
	other = other[:17]
	other += string("10X98765432"[checkSum(other)%11])
	_, err := f.svc.Submit(ctx, u, Claim{IDNumber: other})
	var ce *ConfirmError
	if !errors.As(err, &ce) || !slices.Contains(ce.Fields, "id_number") || !slices.Contains(ce.Fields, "birth") {
		t.Fatalf("typo: %v", err)
	}
	// A name other than the one read is asked about too, before any
	// paid call; the name as read needs nothing.
	paid := f.srv.Calls()
	_, err = f.svc.Submit(ctx, u, Claim{Name: "王小明"})
	if !errors.As(err, &ce) || !slices.Equal(ce.Fields, []string{"name"}) {
		t.Fatalf("another name: %v", err)
	}
	if got := f.srv.Calls(); !maps.Equal(got, paid) {
		t.Fatalf("asking about the name called a vendor: %v → %v", paid, got)
	}
	v, err := f.svc.Submit(ctx, u, Claim{Name: c.Name + "", IDNumber: ""})
	if err != nil || v.State != string(store.Verified) {
		t.Fatalf("confirmed as read: %+v %v", v, err)
	}
}

func checkSum(body string) int {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return sum
}
