package wechat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/silenceper/wechat/v2/credential"
)

// fixedTokens hands the SDK one access_token for every app.
type fixedTokens struct{}

func (fixedTokens) SDKHandle(string) credential.AccessTokenContextHandle { return fixedTokens{} }
func (fixedTokens) GetAccessToken() (string, error)                      { return "TOKEN", nil }
func (fixedTokens) GetAccessTokenContext(context.Context) (string, error) {
	return "TOKEN", nil
}

// TestSDKAnswersWithStringErrcode: code2session and subscribeMessage.send
// answered with errcode as a string mean what the number means: "0" is a
// login and a sent message, "40029" a bad code, "43101" a refusal; a
// non-numeric errcode stays a failure.
func TestSDKAnswersWithStringErrcode(t *testing.T) {
	answer := map[string]string{}
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(answer[r.URL.Path]))
	}))
	defer wx.Close()
	RedirectSDK(wx.URL)
	t.Cleanup(func() { RedirectSDK("") })
	c := NewClient([]App{{AppID: "wxapp", Secret: "s"}}, fixedTokens{})
	ctx := context.Background()

	answer["/sns/jscode2session"] = `{"errcode":"0","errmsg":"ok","openid":"o-1","session_key":"k","unionid":"u-1"}`
	if s, err := c.Code2Session(ctx, "wxapp", "code"); err != nil || s.OpenID != "o-1" || s.UnionID != "u-1" {
		t.Errorf("errcode \"0\": %+v %v", s, err)
	}
	answer["/sns/jscode2session"] = `{"errcode":"40029","errmsg":"invalid code"}`
	if _, err := c.Code2Session(ctx, "wxapp", "code"); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("errcode \"40029\": %v", err)
	}
	answer["/sns/jscode2session"] = `{"errcode":"ok","openid":"o-1","session_key":"k"}`
	if _, err := c.Code2Session(ctx, "wxapp", "code"); !errors.Is(err, ErrUpstream) {
		t.Errorf("errcode \"ok\": %v", err)
	}

	msg := SubscribeMessage{ToUser: "o-1", TemplateID: "tpl", Data: map[string]string{"thing1": "x"}}
	answer["/cgi-bin/message/subscribe/send"] = `{"errcode":"0","errmsg":"ok"}`
	if err := c.SendSubscribe(ctx, "wxapp", msg); err != nil {
		t.Errorf("send, errcode \"0\": %v", err)
	}
	answer["/cgi-bin/message/subscribe/send"] = `{"errcode":"43101","errmsg":"user refuse to accept the msg"}`
	var api *APIError
	if err := c.SendSubscribe(ctx, "wxapp", msg); !errors.As(err, &api) || api.Code != 43101 {
		t.Errorf("send, errcode \"43101\": %v", err)
	}
}

func TestNumericErrcode(t *testing.T) {
	for in, want := range map[string]string{
		`{"errcode":"0","openid":"o"}`: `{"errcode":0,"openid":"o"}`,
		`{"errcode":" -1 "}`:           `{"errcode":-1}`,
		`{"errcode":0,"openid":"o"}`:   `{"errcode":0,"openid":"o"}`,
		`{"errcode":"ok"}`:             `{"errcode":"ok"}`,
		`[1,2]`:                        `[1,2]`,
		`not json`:                     `not json`,
		`{"data":{"errcode":"0"}}`:     `{"data":{"errcode":"0"}}`,
	} {
		if got := string(numericErrcode([]byte(in))); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
