package token_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"realname/service/token"
)

// TestFetchStringErrcode: an errcode sent as a string means what the
// number means: "0" with a token is a token, "40013" the refusal 40013.
func TestFetchStringErrcode(t *testing.T) {
	for body, want := range map[string]int{
		`{"errcode":"0","errmsg":"ok","access_token":"ACCESS_TOKEN","expires_in":7200}`: 0,
		`{"errcode":"40013","errmsg":"invalid appid"}`:                                  40013,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		tok, err := token.NewWeChatFetcher(srv.URL, token.ModeStable).Fetch(context.Background(), token.App{AppID: "wx1", Secret: "s"}, false)
		srv.Close()
		var api *token.APIError
		switch {
		case want == 0 && (err != nil || tok.Value != "ACCESS_TOKEN"):
			t.Errorf("%s: %+v %v", body, tok, err)
		case want != 0 && (!errors.As(err, &api) || api.Code != want || !errors.Is(err, token.ErrUpstream)):
			t.Errorf("%s: %v, want errcode %d", body, err, want)
		}
	}
}
