package handler

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/review"
	"realname/service/store"
	"realname/web"
)

// trendDays is how far back the dashboard's charts look.
const trendDays = 7

type dashboardData struct {
	review.Dashboard
	review.Trends
	Tokens        []tokenRow
	TokensKnown   bool
	SLA           time.Duration
	FunnelChart   chart
	DailyChart    chart
	OutcomesChart chart
	CostChart     chart
	CostTotal     string // over trendDays, in yuan; "" when no price is configured
	Unpriced      []string
	Now           time.Time
}

type tokenRow struct {
	AppID      string
	Cached     bool
	ExpiresIn  string
	RefreshDue string
}

func (p *adminPages) dashboard(c *gin.Context) {
	d, err := p.review.Dashboard(c.Request.Context())
	if err != nil {
		p.fail(c, err)
		return
	}
	tr, err := p.review.Trends(c.Request.Context(), trendDays, p.sla)
	if err != nil {
		p.fail(c, err)
		return
	}
	l := p.locale(c)
	now := p.clock.Now()
	data := dashboardData{Dashboard: d, Trends: tr, TokensKnown: p.tokens != nil, SLA: p.sla, Now: now}
	data.FunnelChart = funnelChart(l, tr.Funnel)
	data.DailyChart = dailyChart(l, tr.Days)
	data.OutcomesChart = outcomesChart(l, tr.Outcomes)
	data.CostChart, data.CostTotal, data.Unpriced = costChart(l, tr.Days, p.prices)
	if p.tokens != nil {
		for _, s := range p.tokens.Status() {
			row := tokenRow{AppID: s.AppID, Cached: s.Cached}
			if s.Cached {
				row.ExpiresIn = l.Duration(s.ExpiresAt.Sub(now))
				row.RefreshDue = l.Duration(s.RefreshAt.Sub(now))
			}
			data.Tokens = append(data.Tokens, row)
		}
		slices.SortFunc(data.Tokens, func(a, b tokenRow) int { return strings.Compare(a.AppID, b.AppID) })
	}
	p.render(c, http.StatusOK, "admin_dashboard.html", "dashboard.title", data)
}

// chart is a bar chart drawn as server-side SVG: the geometry is worked
// out here, the template only draws it, and the page needs no script.
type chart struct {
	Title         string // for screen readers (the SVG's <title>)
	Width, Height int
	Bars          []bar
	Labels        []label
	Legend        []legend
	Empty         bool
}

type bar struct {
	X, Y, W, H int
	Class      string
	Tip        string // <title>: the value in words
}

type label struct {
	X, Y   int
	Text   string
	Anchor string // start, middle, end
	Class  string
}

type legend struct{ Class, Text string }

// hbars draws one horizontal bar per row with its label and value.
func hbars(title string, rows []label, values []int64, classes []string) chart {
	const labelW, barMax, rowH = 150, 220, 24
	ch := chart{Title: title, Width: labelW + barMax + 70, Height: rowH*len(rows) + 8}
	var top int64
	for _, v := range values {
		top = max(top, v)
	}
	ch.Empty = top == 0
	for i, r := range rows {
		y := 4 + i*rowH
		w := 0
		if top > 0 {
			w = int(float64(barMax) * float64(values[i]) / float64(top))
		}
		if values[i] > 0 && w < 2 {
			w = 2
		}
		ch.Labels = append(ch.Labels, label{X: labelW - 8, Y: y + 16, Text: r.Text, Anchor: "end"},
			label{X: labelW + w + 6, Y: y + 16, Text: fmt.Sprint(values[i]), Anchor: "start", Class: "value"})
		ch.Bars = append(ch.Bars, bar{X: labelW, Y: y + 3, W: w, H: rowH - 8, Class: classes[i], Tip: fmt.Sprintf("%s: %d", r.Text, values[i])})
	}
	return ch
}

func funnelChart(l *web.Locale, f review.Funnel) chart {
	names := []string{"started", "recognized", "submitted", "decided", "verified"}
	values := []int64{f.Started, f.Recognized, f.Submitted, f.Decided, f.Verified}
	rows := make([]label, len(names))
	classes := make([]string, len(names))
	for i, n := range names {
		rows[i] = label{Text: l.T("dashboard.funnel_" + n)}
		classes[i] = "s" + fmt.Sprint(i)
	}
	return hbars(l.T("dashboard.funnel"), rows, values, classes)
}

func outcomesChart(l *web.Locale, outcomes []review.ReasonCount) chart {
	var rows []label
	var values []int64
	var classes []string
	for _, o := range outcomes {
		if len(rows) == 12 {
			break
		}
		text := l.Code("state", o.State)
		if o.Reason != "" {
			text += " · " + l.Code("reason", o.Reason)
		}
		rows = append(rows, label{Text: text})
		values = append(values, o.N)
		classes = append(classes, "state-"+o.State)
	}
	ch := hbars(l.T("dashboard.outcomes"), rows, values, classes)
	ch.Empty = len(rows) == 0
	return ch
}

// vbars draws days on the x axis with one stacked or grouped column per day.
type series struct {
	Class, Name string
	Values      []float64
}

func vbars(title string, days []time.Time, all []series, stacked bool, format func(float64) string) chart {
	const left, bottom, plotH, colW = 52, 28, 150, 52
	ch := chart{Title: title, Width: left + colW*len(days) + 12, Height: plotH + bottom + 14}
	var top float64
	for d := range days {
		var sum float64
		for _, s := range all {
			if stacked {
				sum += s.Values[d]
			} else {
				top = max(top, s.Values[d])
			}
		}
		top = max(top, sum)
	}
	ch.Empty = top == 0
	if top == 0 {
		top = 1
	}
	for _, s := range all {
		ch.Legend = append(ch.Legend, legend{Class: s.Class, Text: s.Name})
	}
	y0 := 8 + plotH
	ch.Labels = append(ch.Labels, label{X: left - 6, Y: 14, Text: format(top), Anchor: "end", Class: "axis"},
		label{X: left - 6, Y: y0, Text: format(0), Anchor: "end", Class: "axis"})
	for d, day := range days {
		x := left + d*colW + 8
		ch.Labels = append(ch.Labels, label{X: x + (colW-16)/2, Y: y0 + 18, Text: day.Format("01-02"), Anchor: "middle", Class: "axis"})
		stack := 0
		w := (colW - 16) / max(1, len(all))
		for i, s := range all {
			h := int(float64(plotH) * s.Values[d] / top)
			if s.Values[d] > 0 && h < 1 {
				h = 1
			}
			tip := fmt.Sprintf("%s %s: %s", day.Format("01-02"), s.Name, format(s.Values[d]))
			if stacked {
				ch.Bars = append(ch.Bars, bar{X: x, Y: y0 - stack - h, W: colW - 16, H: h, Class: s.Class, Tip: tip})
				stack += h
			} else {
				ch.Bars = append(ch.Bars, bar{X: x + i*w, Y: y0 - h, W: w - 2, H: h, Class: s.Class, Tip: tip})
			}
		}
	}
	return ch
}

func dayStarts(days []review.Day) []time.Time {
	out := make([]time.Time, len(days))
	for i, d := range days {
		out[i] = d.Start
	}
	return out
}

func dailyChart(l *web.Locale, days []review.Day) chart {
	pick := func(f func(review.Day) int64) []float64 {
		out := make([]float64, len(days))
		for i, d := range days {
			out[i] = float64(f(d))
		}
		return out
	}
	all := []series{
		{"s0", l.T("dashboard.funnel_started"), pick(func(d review.Day) int64 { return d.Started })},
		{"state-verified", l.Code("state", string(store.Verified)), pick(func(d review.Day) int64 { return d.Verified })},
		{"state-review", l.Code("state", string(store.Review)), pick(func(d review.Day) int64 { return d.Review })},
		{"state-rejected", l.Code("state", string(store.Rejected)), pick(func(d review.Day) int64 { return d.Rejected })},
	}
	return vbars(l.T("dashboard.daily"), dayStarts(days), all, false, func(v float64) string { return fmt.Sprintf("%.0f", v) })
}

// costChart stacks each day's vendor bill (answered calls × price); vendors
// without a price are named so the total is not mistaken for complete.
func costChart(l *web.Locale, days []review.Day, prices map[string]float64) (chart, string, []string) {
	providers := map[string]bool{}
	for _, d := range days {
		for p := range d.Paid {
			providers[p] = true
		}
	}
	names := make([]string, 0, len(providers))
	for p := range providers {
		names = append(names, p)
	}
	sort.Strings(names)
	var all []series
	var unpriced []string
	var total float64
	for i, p := range names {
		price, ok := prices[p]
		if !ok {
			unpriced = append(unpriced, p)
			continue
		}
		s := series{Class: fmt.Sprintf("p%d", i%6), Name: fmt.Sprintf("%s (¥%.3g)", p, price), Values: make([]float64, len(days))}
		for d, day := range days {
			s.Values[d] = float64(day.Paid[p]) * price
			total += s.Values[d]
		}
		all = append(all, s)
	}
	ch := vbars(l.T("dashboard.cost"), dayStarts(days), all, true, func(v float64) string { return fmt.Sprintf("¥%.2f", v) })
	if len(all) == 0 {
		return ch, "", unpriced
	}
	return ch, fmt.Sprintf("¥%.2f", total), unpriced
}
