package webhook

import (
	"strings"
	"testing"
	"time"
)

// Fuzz targets for what the webhook configuration and receivers send:
// secrets, retry schedules, allow lists and Retry-After headers.

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + strings.Repeat("A", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecret(s)
		if err != nil {
			if strings.Contains(err.Error(), strings.TrimPrefix(s, secretPrefix)) && len(s) > len(secretPrefix)+8 {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			return
		}
		if len(key) < minKeyLen || len(key) > maxKeyLen {
			t.Fatalf("key of %d bytes accepted", len(key))
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	f.Add("5s,5m,30m,2h,5h,10h,10h")
	f.Add("0s")
	f.Add("-1h, 1h")
	f.Add("9223372036854775807ns")
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ParseSchedule(strings.Split(s, ","))
		if err != nil {
			return
		}
		for _, d := range ds {
			if d <= 0 {
				t.Fatalf("%q gave %v", s, d)
			}
		}
	})
}

func FuzzParseCIDRs(f *testing.F) {
	f.Add("10.1.0.0/16,fd00:1::/64")
	f.Add("127.0.0.1")
	f.Add("::ffff:10.0.0.1")
	f.Add("10.1.2.3/8")
	f.Add("fe80::1%eth0")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseCIDRs(strings.Split(s, ","))
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" && p.Bits() != p.Addr().BitLen() {
				t.Fatalf("%q gave %v", s, p)
			}
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "-5", "Wed, 21 Oct 2026 07:28:00 GMT", "99999999999999999999", " 3 ", "0"} {
		f.Add(s)
	}
	now := time.Date(2026, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := retryAfter(s, now); d < 0 || d > 366*24*time.Hour {
			t.Fatalf("%q gave %v", s, d)
		}
	})
}
