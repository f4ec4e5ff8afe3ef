package store_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
)

// TestBindTakesOneSlotPerAccount: a free slot is taken in one statement
// (two on MySQL),
// the first for a new number, the lowest free one for a bound number; an account holding a slot keeps it (even when the first
// slot is free again); other accounts take the free ones until there are
// none.
func TestBindTakesOneSlotPerAccount(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		hash := []byte("0123456789abcdef0123456789abcdef")
		vs := map[string]model.Verification{}
		for _, who := range []string{"a", "b", "c", "d"} {
			vs[who] = e.open(t, "o-bind-"+who)
		}
		bind := func(who string, want bool) {
			t.Helper()
			v := vs[who]
			got, err := e.st.Bind(ctx, &v, hash, 2)
			if err != nil || got != want {
				t.Fatalf("bind %s: %v %v, want %v", who, got, err, want)
			}
		}
		slots := func() map[int64]int {
			var rows []model.IDBinding
			e.db.Where("id_number_hash = ?", hash).Find(&rows)
			out := map[int64]int{}
			for _, r := range rows {
				out[r.UserID] = r.Slot
			}
			if len(out) != len(rows) {
				t.Fatalf("an account holds two slots: %+v", rows)
			}
			return out
		}
		// MySQL reads the bindings first: its INSERT … SELECT would lock
		// their gaps and deadlock two binds of one number.
		want := int64(1)
		if db.Name() == model.DialectMySQL {
			want = 2
		}
		before := model.StatementCounts(db)
		bind("a", true)
		if n := model.StatementCounts(db).Statements - before.Statements; n != want {
			t.Fatalf("%d statements to bind a new number", n)
		}
		bind("a", true)
		before = model.StatementCounts(db)
		bind("b", true)
		if n := model.StatementCounts(db).Statements - before.Statements; n != want {
			t.Fatalf("%d statements to take the next free slot", n)
		}
		bind("c", false)
		if got := slots(); len(got) != 2 || got[vs["a"].UserID] != 0 || got[vs["b"].UserID] != 1 {
			t.Fatalf("slots %v", got)
		}
		a := vs["a"]
		if err := e.st.Unbind(ctx, &a); err != nil {
			t.Fatal(err)
		}
		bind("b", true) // holds slot 1; slot 0 free again
		bind("d", true) // slot 0, the lowest free one
		if got := slots(); len(got) != 2 || got[vs["b"].UserID] != 1 || got[vs["d"].UserID] != 0 {
			t.Fatalf("slots after a release %v", got)
		}
	})
}
