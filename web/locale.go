package web

import (
	"embed"
	"fmt"
	"io/fs"
	"realname/model"
	"realname/service/wording"
	"slices"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

//go:embed i18n/*.yaml
var catalogFiles embed.FS

// The languages the pages speak. Chinese is the default: the review teams
// are in China; English is there on request.
var (
	Chinese = language.MustParse("zh-CN")
	English = language.English
)

// Catalog is the pages' messages in every language, with the time zone
// their times are shown in. It is built once and shared: nothing in it
// changes after NewCatalog.
type Catalog struct {
	bundle *i18n.Bundle
	zone   *time.Location
	ids    map[language.Tag][]string
}

// NewCatalog loads the embedded catalogs (web/i18n/*.yaml, through
// nicksnyder/go-i18n: plural forms, templated arguments, fallbacks) and
// shows times in zone.
func NewCatalog(zone *time.Location) (*Catalog, error) {
	if zone == nil {
		return nil, fmt.Errorf("web: catalog needs a time zone")
	}
	b := i18n.NewBundle(Chinese)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files, err := fs.Glob(catalogFiles, "i18n/*.yaml")
	if err != nil {
		return nil, err
	}
	ids := map[language.Tag][]string{}
	for _, f := range files {
		mf, err := b.LoadMessageFileFS(catalogFiles, f)
		if err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", f, err)
		}
		for _, m := range mf.Messages {
			ids[mf.Tag] = append(ids[mf.Tag], m.ID)
		}
	}
	return &Catalog{bundle: b, zone: zone, ids: ids}, nil
}

// Zone is where the pages' times are.
func (c *Catalog) Zone() *time.Location { return c.zone }

// Codes lists the codes of a kind ("reason", "state", …) the catalogs
// have words for, sorted.
func (c *Catalog) Codes(kind string) []string {
	var out []string
	for _, id := range c.ids[Chinese] {
		if code, ok := strings.CutPrefix(id, kind+"."); ok {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

// IDs lists the message ids of one language's catalog, for the tests that
// keep the catalogs and the templates in step.
func (c *Catalog) IDs(tag language.Tag) []string { return c.ids[tag] }

// Locale picks the language for prefs, best first: an account's stored
// choice, then an Accept-Language header; the first one given decides, as
// the Mini Program API decides (wording.FromAcceptLanguage). Anything
// unknown, unparsable or absent is Chinese.
func (c *Catalog) Locale(prefs ...string) *Locale {
	tag := Chinese
	for _, p := range prefs {
		if p == "" {
			continue
		}
		if wording.FromAcceptLanguage(p) == wording.English {
			tag = English
		}
		break
	}
	return &Locale{tag: tag, loc: i18n.NewLocalizer(c.bundle, tag.String()), zone: c.zone}
}

// Locale is one request's language and time zone; templates call its
// methods ({{$.L.T "queue.title"}}, {{$.L.Time .UpdatedAt}}).
type Locale struct {
	tag  language.Tag
	loc  *i18n.Localizer
	zone *time.Location
}

// Lang is the BCP 47 tag for <html lang>: zh-CN or en.
func (l *Locale) Lang() string { return l.tag.String() }

// English reports whether the page is in English.
func (l *Locale) English() bool { return l.tag == English }

// T is message id with args as name/value pairs ("N", 3). A message
// missing from this language falls back to Chinese, then to the id
// itself, so a gap shows as a code, never as a blank.
func (l *Locale) T(id string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["N"]; ok {
		cfg.PluralCount = n
	}
	s, err := l.loc.Localize(cfg)
	if err != nil || s == "" {
		return id
	}
	return s
}

// Code is the words for a code of a kind ("reason", "event", "state"…),
// or the code itself when there are none (a reason added later): one
// lookup, since T answers a missing message with its id.
func (l *Locale) Code(kind, code string) string {
	if code == "" {
		return ""
	}
	id := kind + "." + code
	if words := l.T(id); words != id {
		return words
	}
	return code
}

// State is the words for a verification's state, as Code "state" says
// them: a template hands it the typed column (model.State) as it is.
func (l *Locale) State(s model.State) string { return l.Code("state", string(s)) }

// Actor names who did something: a staff member's account (when the
// username is gone), a Mini Program user, or the system.
func (l *Locale) Actor(a string) string {
	kind, id, ok := strings.Cut(a, ":")
	switch {
	case a == "system":
		return l.T("actor.system")
	case ok && (kind == "user" || kind == "admin" || kind == "apikey"):
		return l.T("actor."+kind, "ID", id)
	}
	return a
}

// Time is t in the pages' zone to the minute, with the zone said:
// 2026-12-01 15:52 (UTC+8). The zero time is a dash.
func (l *Locale) Time(t time.Time) string { return l.format(t, "2006-01-02 15:04") }

// Seconds is Time to the second, for timelines and audit entries.
func (l *Locale) Seconds(t time.Time) string { return l.format(t, "2006-01-02 15:04:05") }

// Clock is the time of day only, with the zone: 15:52 (UTC+8).
func (l *Locale) Clock(t time.Time) string { return l.format(t, "15:04") }

func (l *Locale) format(t time.Time, layout string) string {
	if t.IsZero() {
		return "–"
	}
	t = t.In(l.zone)
	return t.Format(layout) + " (" + ZoneLabel(t) + ")"
}

// Zone is the pages' zone as UTC+8, for hints and column headers.
func (l *Locale) Zone(now time.Time) string { return ZoneLabel(now.In(l.zone)) }

// ZoneLabel names t's offset as UTC+8, UTC+5:30 or UTC.
func ZoneLabel(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	h, m := off/3600, off%3600/60
	if m != 0 {
		return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
	}
	return fmt.Sprintf("UTC%s%d", sign, h)
}

// Duration is d in words, to the minute: "3 小时 12 分钟" / "3 h 12 min".
func (l *Locale) Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, l.T("duration.days", "N", days))
	}
	if hours > 0 {
		parts = append(parts, l.T("duration.hours", "N", hours))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, l.T("duration.minutes", "N", mins))
	}
	return strings.Join(parts, " ")
}
