package transport

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCauseDropsTheURL(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://api.weixin.qq.com/cgi-bin/token?secret=s3cret", Err: context.DeadlineExceeded}
	got := Cause(err)
	if strings.Contains(got.Error(), "s3cret") || !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("Cause = %v", got)
	}
	plain := errors.New("no url here")
	if Cause(plain) != plain {
		t.Fatal("an error without a URL changed")
	}
}
