package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const (
	rawID    = "11010119900307123X"
	rawPhone = "13812345678"
	rawName  = "张三丰"
	rawAddr  = "北京市朝阳区建国路88号"
)

// person logs itself with its personal fields under sensitive keys.
type person struct{ name, id string }

func (p person) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.name), slog.String("id_number", p.id))
}

// note is a LogValuer resolving to a plain string.
type note string

func (n note) LogValue() slog.Value { return slog.StringValue("note: " + string(n)) }

func newTestLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil))), &buf
}

func TestRedactingHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want []string // masked forms that must appear
	}{
		{"message", func(l *slog.Logger) { l.Info("user " + rawID + " phone " + rawPhone) },
			[]string{`"msg":"user 1101**********123X phone 138****5678"`}},
		{"name attr", func(l *slog.Logger) { l.Info("ok", "name", rawName, "Real_Name", rawName) },
			[]string{`"name":"张**"`, `"Real_Name":"张**"`}},
		{"id attr", func(l *slog.Logger) { l.Info("ok", "id_number", rawID, "idCard", rawID) },
			[]string{`"id_number":"1101**********123X"`, `"idCard":"1101**********123X"`}},
		{"phone and address", func(l *slog.Logger) { l.Info("ok", "Mobile", "+86"+rawPhone, "addr", rawAddr) },
			[]string{`"Mobile":"+86138****5678"`, `"addr":"北京市朝阳区****"`}},
		{"secrets", func(l *slog.Logger) {
			l.Info("ok", "session_key", "c2Vzc2lvbg==", "Authorization", "Bearer abc", "access-token", "t0k", "password", 123)
		}, []string{`"session_key":"[redacted]"`, `"Authorization":"[redacted]"`, `"access-token":"[redacted]"`, `"password":"[redacted]"`}},
		{"plain string attr", func(l *slog.Logger) { l.Info("ok", "detail", "card "+rawID) },
			[]string{`"detail":"card 1101**********123X"`}},
		{"integer phone", func(l *slog.Logger) { l.Info("ok", "contact", int64(13812345678), "count", 42) },
			[]string{`"contact":"138****5678"`, `"count":42`}},
		{"nested group", func(l *slog.Logger) {
			l.Info("ok", slog.Group("user", slog.Group("card", "name", rawName, "number", rawID), "id", 7))
		}, []string{`"user":{"card":{"name":"张**","number":"1101**********123X"},"id":7}`}},
		{"sensitive group", func(l *slog.Logger) { l.Info("ok", slog.Group("address", "province", "北京市", "street", rawAddr)) },
			[]string{`"address":{"province":"北****","street":"北京市朝阳区****"}`}},
		{"with", func(l *slog.Logger) { l.With("phone", rawPhone).With("user", 7).Info("ok", "x", 1) },
			[]string{`"phone":"138****5678"`}},
		{"with group", func(l *slog.Logger) { l.WithGroup("req").With("name", rawName).Info("ok", "id_no", rawID) },
			[]string{`"req":{"name":"张**","id_no":"1101**********123X"}`}},
		{"sensitive WithGroup", func(l *slog.Logger) { l.WithGroup("token").Info("ok", "value", "abc", "name", rawName) },
			[]string{`"token":{"value":"[redacted]","name":"[redacted]"}`}},
		{"error", func(l *slog.Logger) {
			l.Error("failed", "err", fmt.Errorf("verify %s: %w", rawID, errors.New("mismatch")))
		},
			[]string{`"err":"verify 1101**********123X: mismatch"`}},
		{"log valuer group", func(l *slog.Logger) { l.Info("ok", "who", person{rawName, rawID}) },
			[]string{`"who":{"name":"张**","id_number":"1101**********123X"}`}},
		{"log valuer string", func(l *slog.Logger) { l.Info("ok", "n", note(rawPhone)) },
			[]string{`"n":"note: 138****5678"`}},
		{"any value", func(l *slog.Logger) { l.Info("ok", "ids", []string{rawID}, "raw", []byte(rawPhone)) },
			[]string{`"ids":"[1101**********123X]"`, `"raw":"138****5678"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, buf := newTestLogger()
			tt.log(l)
			out := buf.String()
			for _, raw := range []string{rawID, rawPhone, rawName, rawAddr, "c2Vzc2lvbg==", "Bearer abc", "t0k", "abc\""} {
				if strings.Contains(out, raw) {
					t.Errorf("output leaks %q: %s", raw, out)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s: %s", w, out)
				}
			}
		})
	}
}

func TestRedactingHandlerKeepsCleanValues(t *testing.T) {
	l, buf := newTestLogger()
	l.Info("verified", "user", 7, "provider", "acedata", "latency", 135*time.Millisecond, "ok", true, "err", nil,
		"order", "4200001234202411231234567890", "meta", map[string]int{"tries": 2})
	want := `"msg":"verified","user":7,"provider":"acedata","latency":135000000,"ok":true,"err":null,` +
		`"order":"4200001234202411231234567890","meta":{"tries":2}}`
	if out := buf.String(); !strings.Contains(out, want) {
		t.Fatalf("output = %s\nwant it to contain %s", out, want)
	}
}

func TestRedactingHandlerCleanRecordDoesNotAllocate(t *testing.T) {
	h := NewRedactingHandler(discard{})
	r := slog.NewRecord(time.Now(), slog.LevelInfo, cleanText, 0)
	r.AddAttrs(slog.String("provider", "acedata"), slog.Int("user", 7), slog.Duration("latency", time.Second),
		slog.Group("req", slog.String("path", "/v1/verify")))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = h.Handle(ctx, r) }); n != 0 {
		t.Fatalf("Handle on a clean record: %v allocs, want 0", n)
	}
}

func BenchmarkRedactingHandlerClean(b *testing.B) {
	l := slog.New(NewRedactingHandler(discard{}))
	b.ReportAllocs()
	for b.Loop() {
		l.Info(cleanText, "provider", "acedata", "user", 7, "latency", time.Second)
	}
}

// discard is a handler that accepts and drops everything, so benchmarks
// measure the redaction alone.
type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return true }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
