package face

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestErrorKinds(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	err := error(&Error{Provider: "wechat", Kind: ErrInvalidTicket, Code: "84001", Err: cause})
	if !errors.Is(err, ErrInvalidTicket) || errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("errors.Is on %v", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != "84001" {
		t.Fatalf("errors.As on %v", err)
	}
	if s := err.Error(); !strings.Contains(s, "84001") || !strings.Contains(s, "wechat") {
		t.Fatalf("text %q", s)
	}
}

// TestOnlyPassedPasses: no other outcome, however close, proves the person.
func TestOnlyPassedPasses(t *testing.T) {
	for _, o := range []Outcome{OutcomePassed, OutcomeIdentityMismatch, OutcomeFaceMismatch, OutcomeNoRecord,
		OutcomePending, OutcomeNotFinished, OutcomeRepeated, OutcomeRateLimited, OutcomeConfigError, OutcomeFailed, ""} {
		if got := (Result{Outcome: o}).Passed(); got != (o == OutcomePassed) {
			t.Errorf("%q: Passed() = %v", o, got)
		}
	}
}
