package modeltest

import (
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// Dump renders every row of every table of db, as a database dump would,
// for tests that look for personal data stored in clear.
func Dump(t testing.TB, db *gorm.DB) string {
	t.Helper()
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, table := range tables {
		rows, err := db.Table(table).Rows()
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					out.Write(b)
				} else {
					fmt.Fprint(&out, v)
				}
				out.WriteByte('|')
			}
		}
		rows.Close()
	}
	return out.String()
}
