package ownercheck

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
	"gorm.io/gorm/schema"

	"realname/model"
)

// moduleRoot is the repository root, two levels up from this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// lint loads the patterns (with the overlay) and returns the analyzer's
// findings as "file:line: message", sorted.
func lint(t *testing.T, overlay map[string][]byte, patterns ...string) []string {
	t.Helper()
	cfg := &packages.Config{
		Mode:    packages.LoadSyntax,
		Dir:     moduleRoot(t),
		Overlay: overlay,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	if n := packages.PrintErrors(pkgs); n > 0 {
		t.Fatalf("%d packages did not load", n)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for act := range graph.All() {
		if act.Analyzer != Analyzer || !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			rel, _ := filepath.Rel(cfg.Dir, p.Filename)
			out = append(out, fmt.Sprintf("%s:%d: %s", rel, p.Line, d.Message))
		}
	}
	sort.Strings(out)
	return out
}

// TestModuleFollowsTheOwners is the lint step: every package of the module,
// as it is.
func TestModuleFollowsTheOwners(t *testing.T) {
	found := lint(t, nil, "./...")
	for _, f := range found {
		t.Error(f)
	}
	if len(found) == 0 {
		t.Logf("lint: ownercheck found nothing in the module (owners of %d tables, no map updates, layers kept)", len(model.Owners()))
	}
}

// TestDeliberateViolationsFail adds, in an overlay, a file to a service
// package that breaks every rule, and expects each to be reported.
func TestDeliberateViolationsFail(t *testing.T) {
	root := moduleRoot(t)
	bad := filepath.Join(root, "service", "idcard", "zz_violation.go")
	badConfig := filepath.Join(root, "config", "zz_violation.go")
	overlay := map[string][]byte{
		bad: []byte(`package idcard

import (
	"gorm.io/gorm"
	_ "github.com/gin-gonic/gin"

	"realname/model"
)

func violate(db *gorm.DB) {
	db.Model(&model.WebhookDelivery{}).Where("id = ?", 1).Updates(map[string]any{"status": "pending"})
	q := db.Model(&model.Verification{})
	q.Update("state", "verified")
	db.Create(&model.AdminUser{})
	db.Exec("DELETE FROM api_keys WHERE id = ?", 1)
	db.Exec("UPDATE nobody_owns SET x = 1")
	db.Table("webhook_events").Where("id = ?", "e").Update("seq", 1)
}

// dynamic writes a table chosen at run time.
//
// ownercheck:tables step_ups
func dynamic(db *gorm.DB, table any) {
	db.Model(table).Update("state", "x")
}

func unnamed(db *gorm.DB, table any) {
	db.Model(table).Update("state", "x")
}
`),
		badConfig: []byte(`package config

import _ "realname/service/clock"
`),
	}
	found := strings.Join(lint(t, overlay, "./service/idcard", "./config"), "\n")
	for _, want := range []string{
		"zz_violation.go:5: realname/service/idcard imports gin",
		"Updates with a map",
		"writes table webhook_deliveries, which only realname/service/webhook/internal/whstore writes",
		"writes table verifications, which only realname/service/store writes",
		"writes table admin_users, which only realname/service/admin writes",
		"writes table api_keys, which only realname/service/apikey writes",
		"table nobody_owns has no owner in model.Owners",
		"writes table webhook_events, which only realname/service/webhook/internal/whstore writes",
		"config imports realname/service/clock",
		"writes table step_ups, which only realname/service/store writes",
		"Update on a table the linter cannot name",
	} {
		if !strings.Contains(found, want) {
			t.Errorf("the deliberate violation %q was not reported; found:\n%s", want, found)
		}
	}
}

// TestEveryModelTableHasAnOwner checks the analyzer's idea of each model
// type's table against gorm's own, and that each of those tables is in
// model.Owners.
func TestEveryModelTableHasAnOwner(t *testing.T) {
	owners := model.Owners()
	for _, v := range []any{
		model.User{}, model.Verification{}, model.Consent{}, model.IDBinding{}, model.VerificationEvent{},
		model.EventText{}, model.FaceCheck{}, model.StepUp{}, model.ProviderAttempt{}, model.AdminUser{},
		model.WebhookEndpoint{}, model.WebhookEvent{}, model.EventSequence{}, model.APIKey{}, model.APIKeyUse{},
		model.APIKeyRefusal{}, model.WebhookDelivery{}, model.WebhookAttempt{}, model.Photo{}, model.BlobJournal{},
		model.Notification{},
	} {
		s, err := schema.Parse(v, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		name := reflect.TypeOf(v).Name()
		ours := tableNames[name]
		if ours == "" {
			ours = schema.NamingStrategy{}.TableName(name)
		}
		if ours != s.Table {
			t.Errorf("model.%s: the linter names its table %q, gorm %q (add it to tableNames)", name, ours, s.Table)
		}
		if _, ok := owners[s.Table]; !ok {
			t.Errorf("table %s (model.%s) has no owner in model.Owners", s.Table, name)
		}
	}
	// Every struct type of package model is a table listed above or one
	// known not to be.
	notTables := map[string]bool{"SealedColumn": true}
	src, err := os.ReadFile(filepath.Join(moduleRoot(t), "model", "model.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "type" && f[2] == "struct" {
			if notTables[f[1]] {
				continue
			}
			if _, ok := owners[schema.NamingStrategy{}.TableName(f[1])]; !ok && tableNames[f[1]] == "" {
				t.Errorf("model.%s looks like a table without an owner in model.Owners", f[1])
			}
		}
	}
}
