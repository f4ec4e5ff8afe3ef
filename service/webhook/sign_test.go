package webhook_test

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"realname/service/verify"
	"realname/service/webhook"
)

// TestSignatureVerifiesWithTheReferenceLibrary checks Sign against the
// Standard Webhooks library, the way a receiver would.
func TestSignatureVerifiesWithTheReferenceLibrary(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_1","type":"verification.verified","created_at":"2025-01-01T00:00:00Z","data":{"state":"verified"}}`)
	ts := time.Now().Unix()
	header := func(sig string) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderID, "evt_1")
		h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(webhook.HeaderSignature, sig)
		return h
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig := webhook.Sign(key, "evt_1", ts, body)
	if err := wh.Verify(body, header(sig)); err != nil {
		t.Fatalf("reference library rejects our signature %q: %v", sig, err)
	}
	// Theirs and ours agree byte for byte.
	if want, _ := wh.Sign("evt_1", time.Unix(ts, 0), body); want != sig {
		t.Errorf("signature %q, reference library signs %q", sig, want)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = 'X'
	if err := wh.Verify(tampered, header(sig)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("tampered body: %v, want no matching signature", err)
	}
	// During a rotation both signatures travel; either secret verifies.
	other, _ := webhook.NewSecret()
	otherKey, _ := webhook.ParseSecret(other)
	both := webhook.Sign(otherKey, "evt_1", ts, body) + " " + sig
	for _, s := range []string{secret, other} {
		w, _ := standardwebhooks.NewWebhook(s)
		if err := w.Verify(body, header(both)); err != nil {
			t.Errorf("rotation header does not verify with one of the secrets: %v", err)
		}
	}
}

func TestParseSecret(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true}, // the spec's example, 24 bytes
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},      // no prefix
		{"whsec_not base64!", false},
		{"whsec_c2hvcnQ=", false},                    // 5 bytes
		{"whsec_" + strings.Repeat("A", 120), false}, // 90 bytes
	} {
		_, err := webhook.ParseSecret(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSecret(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err != nil && !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("ParseSecret(%q) error %v is not ErrInvalid", tc.in, err)
		}
	}
}

// TestEventTypesMatchTheFlow keeps the subscription list in step with the
// types service/verify writes.
func TestEventTypesMatchTheFlow(t *testing.T) {
	flow := []string{verify.HookRecognized, verify.HookVerified, verify.HookRejected, verify.HookReviewRequired,
		verify.HookReviewed, verify.HookExpired, verify.HookRevoked, verify.HookDataErased, verify.HookStepUpPassed, verify.HookStepUpFailed}
	got := webhook.EventTypes()
	slices.Sort(flow)
	slices.Sort(got)
	if !slices.Equal(got, flow) {
		t.Errorf("EventTypes() = %v, verify writes %v", got, flow)
	}
}

// BenchmarkSign is the per-delivery signing cost: one HMAC-SHA256 over
// "<id>.<timestamp>.<body>" of a typical event.
func BenchmarkSign(b *testing.B) {
	key := make([]byte, 32)
	body := []byte(`{"id":"evt_0123456789abcdef0123456789abcdef","type":"verification.verified","created_at":"2026-11-23T12:00:00Z","data":{"verification_id":42,"appid":"wx1234567890","openid":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","state":"verified","mode":"photo","name_masked":"张*","id_number_masked":"1101**********1234","version":5,"final":true}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = webhook.Sign(key, "evt_0123456789abcdef0123456789abcdef", 1795000000, body)
	}
}
