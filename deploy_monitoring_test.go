package main

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"realname/config"
	"realname/model/modeltest"
)

// The operator's monitoring files: Prometheus alert rules and a Grafana
// dashboard. Their tests parse them as Prometheus and Grafana would and
// hold every metric they name against what a running server exports, so a
// renamed metric fails here rather than as an alert that never fires.
const (
	alertRulesFile = "deploy/prometheus/alerts.yaml"
	dashboardFile  = "deploy/grafana/realname.json"
	deployDoc      = "docs/deploy.md"
)

// scrapeNames are the series Prometheus makes itself, not the server.
var scrapeNames = map[string]bool{"up": true}

var promql = parser.NewParser(parser.Options{})

// loadAlertRules parses the rule file with Prometheus's own loader
// (what `promtool check rules` runs): unknown fields, bad durations,
// template errors and PromQL errors all fail.
func loadAlertRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(alertRulesFile, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatalf("%s: no rule groups", alertRulesFile)
	}
	return groups
}

func TestAlertRulesParseAndExplainThemselves(t *testing.T) {
	groups := loadAlertRules(t)
	anchors := docAnchors(t)
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a recording rule %q; this file holds alerts only", g.Name, r.Record)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("%s: defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if r.For <= 0 {
				t.Errorf("%s: no for: a single bad scrape would page", r.Alert)
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			doc, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if doc != deployDoc || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q names no section of %s", r.Alert, r.Annotations["runbook_url"], deployDoc)
			}
			if !strings.Contains(readFile(t, deployDoc), r.Alert) {
				t.Errorf("%s: not explained in %s", r.Alert, deployDoc)
			}
		}
	}
}

// grafanaDashboard is the part of a dashboard's JSON the tests read.
type grafanaDashboard struct {
	Inputs []struct {
		Name, Type, PluginID string
	} `json:"__inputs"`
	SchemaVersion int            `json:"schemaVersion"`
	UID           string         `json:"uid"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name, Type string
			Query      any
			Datasource any
		}
	}
}

type grafanaPanel struct {
	Title      string
	Type       string
	Datasource any
	Targets    []struct {
		Expr  string
		RefID string `json:"refId"`
	}
	Panels []grafanaPanel // a collapsed row's
}

func loadDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	var d grafanaDashboard
	if err := json.Unmarshal([]byte(readFile(t, dashboardFile)), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// panels is every panel, those inside collapsed rows included.
func (d grafanaDashboard) panels() []grafanaPanel {
	var out []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVar is a dashboard variable in a query: $job, ${instance},
// $__rate_interval.
var grafanaVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// dashboardQueries is each panel target's PromQL, with Grafana's variables
// put in as Grafana would (an interval, or a match-all regexp), and the
// metric of each label_values() variable query.
func (d grafanaDashboard) queries() map[string]string {
	out := map[string]string{}
	for _, p := range d.panels() {
		for _, tg := range p.Targets {
			out[p.Title+" "+tg.RefID] = grafanaVar.ReplaceAllStringFunc(tg.Expr, func(v string) string {
				if strings.Contains(v, "__") {
					return "5m"
				}
				return ".*"
			})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((\w+)`)
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		if sub := labelValues.FindStringSubmatch(q); sub != nil {
			out["variable "+v.Name] = sub[1]
		}
	}
	return out
}

func TestDashboardIsImportable(t *testing.T) {
	d := loadDashboard(t)
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want the one Prometheus data source DS_PROMETHEUS", d.Inputs)
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("schemaVersion %d, uid %q", d.SchemaVersion, d.UID)
	}
	targets := 0
	for _, p := range d.panels() {
		if p.Type == "row" {
			continue
		}
		if ds, _ := json.Marshal(p.Datasource); !strings.Contains(string(ds), "${DS_PROMETHEUS}") {
			t.Errorf("panel %q: datasource %s, want ${DS_PROMETHEUS}", p.Title, ds)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		targets += len(p.Targets)
	}
	for where, q := range d.queries() {
		if _, err := promql.ParseExpr(q); err != nil {
			t.Errorf("%s: %v\n%s", where, err, q)
		}
	}
	if targets < 20 {
		t.Errorf("%d queries; the dashboard lost its panels?", targets)
	}
}

// TestMonitoringNamesExportedMetrics starts the real service (face checks
// on, so their metrics exist), puts a little traffic through it, scrapes
// /metrics, and fails for any metric an alert rule or a dashboard query
// names that the server does not export.
func TestMonitoringNamesExportedMetrics(t *testing.T) {
	s := startService(t, modeltest.Backends()[0], func(c *config.Config) { c.Face = "fallback" })
	flowVerified(t, s) // one verified, one sent to review
	families := scrape(t, s.url+"/metrics")
	exported := exportedNames(families)

	used := map[string][]string{} // metric → where
	for _, g := range loadAlertRules(t).Groups {
		for _, r := range g.Rules {
			for _, name := range metricNames(t, r.Alert, r.Expr) {
				used[name] = append(used[name], "alert "+r.Alert)
			}
		}
	}
	for where, q := range loadDashboard(t).queries() {
		for _, name := range metricNames(t, where, q) {
			used[name] = append(used[name], "dashboard "+where)
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d metrics named; the files lost their rules?", len(used))
	}
	var missing []string
	for name, where := range used {
		if !exported[name] && !scrapeNames[name] {
			sort.Strings(where)
			missing = append(missing, name+" (in "+strings.Join(slices.Compact(where), ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("not exported by the server: %s", m)
	}

	// The figures behind the review and outcome alerts count what happened.
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"realname_verification_transitions_total", map[string]string{"from": "checking", "to": "verified"}, 1},
		{"realname_verification_transitions_total", map[string]string{"from": "checking", "to": "review"}, 1},
		{"realname_review_waiting_cases", nil, 1},
		{"realname_review_overdue_cases", nil, 0},
		{"realname_readiness_up", map[string]string{"check": "database"}, 1},
		{"realname_readiness_up", map[string]string{"check": "redis"}, 1},
	} {
		if got, ok := sampleValue(families[c.family], c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}
}

// metricNames is every metric an expression selects.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			if name == "" {
				t.Errorf("%s: a selector without a metric name: %s", where, vs)
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}
