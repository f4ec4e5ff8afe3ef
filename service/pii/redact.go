package pii

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
)

// Redacted replaces the whole value of secret-like attributes (passwords,
// tokens, session keys, …): no part of a secret is safe to show.
const Redacted = "[redacted]"

// NewRedactingHandler wraps next so personal data never reaches it. Values
// under sensitive keys (name, id_number, phone, address, …, matched
// case-insensitively ignoring '_' and '-') are masked with the matching Mask
// function; secrets, tokens, passwords and session keys become Redacted.
// Everything else — the message, strings, errors, byte slices, integers
// and, as a last resort, other values formatted with %+v — is passed through
// MaskText. A group under a sensitive key (or opened with WithGroup) masks
// all values inside it the same way.
//
// Pattern masking cannot recognise a name or address under an innocent key,
// nor fields of a struct logged whole: give such types a LogValue method.
func NewRedactingHandler(next slog.Handler) slog.Handler {
	return &redactingHandler{next: next}
}

type redactingHandler struct {
	next  slog.Handler
	group sensitivity // inherited from WithGroup names
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	// Records share their attrs with the caller, so a fresh one is built; up
	// to five attrs fit in it without allocating.
	nr := slog.NewRecord(r.Time, r.Level, MaskText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		a, _ = redactAttr(a, h.group)
		nr.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, nr)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i], _ = redactAttr(a, h.group)
	}
	return &redactingHandler{next: h.next.WithAttrs(out), group: h.group}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), group: inherit(keySensitivity(name), h.group)}
}

// inherit lets an enclosing secret group win over everything, and an
// enclosing sensitive group apply to keys that are not sensitive themselves.
func inherit(own, outer sensitivity) sensitivity {
	if own == plain || outer == secretValue {
		return outer
	}
	return own
}

// redactAttr returns a safe copy of a and whether it differs from a.
func redactAttr(a slog.Attr, outer sensitivity) (slog.Attr, bool) {
	s := inherit(keySensitivity(a.Key), outer)
	v := a.Value.Resolve()
	changed := a.Value.Kind() == slog.KindLogValuer
	switch {
	case s == secretValue:
		return slog.String(a.Key, Redacted), true
	case v.Kind() == slog.KindAny && v.Any() == nil:
		return slog.Attr{Key: a.Key, Value: v}, changed
	case v.Kind() == slog.KindGroup:
		g, gchanged := redactGroup(v, s)
		return slog.Attr{Key: a.Key, Value: g}, changed || gchanged
	case s != plain:
		return slog.String(a.Key, maskAs(s, valueString(v))), true
	}
	if m, ok := maskPlain(v); ok {
		return slog.String(a.Key, m), true
	}
	return slog.Attr{Key: a.Key, Value: v}, changed
}

// redactGroup copies the group only once a member actually changes.
func redactGroup(v slog.Value, s sensitivity) (slog.Value, bool) {
	attrs := v.Group()
	var out []slog.Attr
	for i, a := range attrs {
		r, changed := redactAttr(a, s)
		if changed && out == nil {
			out = make([]slog.Attr, len(attrs))
			copy(out, attrs[:i])
		}
		if out != nil {
			out[i] = r
		}
	}
	if out == nil {
		return v, false
	}
	return slog.GroupValue(out...), true
}

// maskPlain masks embedded ID/phone numbers in a value under an innocent key
// and reports whether there were any.
func maskPlain(v slog.Value) (string, bool) {
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindInt64, slog.KindUint64:
		var buf [24]byte
		var d []byte
		if v.Kind() == slog.KindInt64 {
			d = strconv.AppendInt(buf[:0], v.Int64(), 10)
		} else {
			d = strconv.AppendUint(buf[:0], v.Uint64(), 10)
		}
		if !containsPII(string(d)) {
			return "", false
		}
		s = string(d)
	case slog.KindAny:
		s = valueString(v)
	default:
		return "", false
	}
	if !containsPII(s) {
		return "", false
	}
	return MaskText(s), true
}

func valueString(v slog.Value) string {
	if v.Kind() != slog.KindAny {
		return v.String()
	}
	switch x := v.Any().(type) {
	case error:
		return x.Error()
	case []byte:
		return string(x)
	default:
		return fmt.Sprintf("%+v", x)
	}
}
