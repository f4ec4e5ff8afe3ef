package verify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"realname/model/modeltest"
)

// TestIdentityLimits: the limits that hold across accounts. Five accounts
// may check one number a day, the sixth is refused whatever name it tries;
// one account may try two different numbers a day, and again one it
// already tried; a check that did not go ahead gives its counts back; the
// next day (China time) starts afresh. Redis holds the numbers only as
// keyed hashes.
func TestIdentityLimits(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		target, _, _ := sampleCard(t, "male")
		for i := range 5 {
			u := f.user(t, "o-prober-"+string(rune('a'+i)))
			if _, err := f.svc.Check(ctx, u, Claim{Name: "王" + string(rune('一'+i)), IDNumber: target.IDNumber, Consent: "v1"}); err != nil {
				t.Fatalf("check %d of the number: %v", i, err)
			}
		}
		sixth := f.user(t, "o-prober-f")
		_, err := f.svc.Check(ctx, sixth, Claim{Name: target.Name, IDNumber: target.IDNumber, Consent: "v1"})
		var many *TooManyError
		if !errors.As(err, &many) || many.Limit != LimitIDChecks || many.RetryAfter <= 0 || many.RetryAfter > 24*time.Hour {
			t.Fatalf("sixth account on the number: %v", err)
		}
		// The refused check used none of the sixth account's own attempts.
		if cur, err := f.svc.Current(ctx, sixth); err == nil && cur.AttemptsLeft != f.svc.policy.AttemptsPerDay {
			t.Errorf("attempts left %d after a refused check", cur.AttemptsLeft)
		}

		u := f.user(t, "o-many-numbers")
		a, _, _ := sampleCard(t, "female")
		b, _, _ := sampleCard(t, "mismatch")
		c, _, _ := sampleCard(t, "minority")
		for _, card := range []string{a.IDNumber, b.IDNumber} {
			if _, err := f.svc.Check(ctx, u, Claim{Name: "李四", IDNumber: card, Consent: "v1"}); err != nil {
				t.Fatalf("number %s…: %v", card[:6], err)
			}
		}
		_, err = f.svc.Check(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
		if !errors.As(err, &many) || many.Limit != LimitIDsPerAccount {
			t.Fatalf("third number: %v", err)
		}
		if _, err := f.svc.Check(ctx, u, Claim{Name: "李五", IDNumber: a.IDNumber}); err != nil {
			t.Fatalf("a number already tried today: %v", err)
		}

		// A submit that finds nothing to check gives both counts back.
		idle := f.user(t, "o-no-verification")
		for range 3 {
			if _, err := f.svc.Submit(ctx, idle, Claim{Name: c.Name, IDNumber: c.IDNumber}); !errors.Is(err, ErrNoVerification) {
				t.Fatalf("submit without a verification: %v", err)
			}
		}
		n, _ := f.rdb.Get(ctx, f.svc.prefix+"idchecks:"+f.idKey(c.IDNumber)+":20261123").Int()
		if n != 0 {
			t.Errorf("the number's count is %d after checks that did not go ahead", n)
		}

		keys, err := f.rdb.Keys(ctx, f.svc.prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			for _, num := range []string{target.IDNumber, a.IDNumber, b.IDNumber, c.IDNumber} {
				if strings.Contains(k, num) || strings.Contains(k, num[6:14]) {
					t.Errorf("key %q shows an ID number", k)
				}
			}
			if members, _ := f.rdb.SMembers(ctx, k).Result(); strings.Contains(strings.Join(members, ","), a.IDNumber) {
				t.Errorf("set %q holds a clear ID number", k)
			}
		}

		// Midnight in China: both limits start again.
		f.clk.Set(time.Date(2026, 11, 23, 16, 0, 1, 0, time.UTC))
		if _, err := f.svc.Check(ctx, sixth, Claim{Name: target.Name, IDNumber: target.IDNumber, Consent: "v1"}); err != nil {
			t.Fatalf("the next day, the number: %v", err)
		}
		if _, err := f.svc.Check(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber}); err != nil {
			t.Fatalf("the next day, a new number: %v", err)
		}
	})
}

// idKey is the hash the limits file a number under.
func (f *fixture) idKey(number string) string {
	return hexHash(f.svc.crypto.Hash("id_limit", []byte(number)))
}

// TestLimitsSayWhenTheyReset: every daily refusal names its limit and the
// China midnight it resets at.
func TestLimitsSayWhenTheyReset(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	e := f.svc.tooMany(LimitAttempts)
	want := time.Date(2026, 11, 24, 0, 0, 0, 0, f.svc.china) // the fixture's 03:00 UTC is 11:00 in China
	if !e.ResetAt.Equal(want) || e.RetryAfter != 13*time.Hour || e.Limit != LimitAttempts {
		t.Fatalf("%+v", e)
	}
}
