package wechat

import (
	"context"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/util"
)

// SubscribeMessage is one subscription message (订阅消息) to a user.
type SubscribeMessage struct {
	ToUser     string            // the user's openid
	TemplateID string            // from the Mini Program's subscription templates
	Page       string            // the page the card opens, e.g. pages/verify/verify
	State      string            // miniprogram_state: formal, trial or developer
	Data       map[string]string // template keyword → value
}

// SendSubscribe sends msg through the SDK's subscribeMessage.send with the
// app's access_token from the token service. WeChat's refusals come back as
// *APIError (43101: the user has not subscribed).
func (c *Client) SendSubscribe(ctx context.Context, appID string, msg SubscribeMessage) error {
	mp := c.apps[appID]
	if mp == nil {
		return ErrUnknownApp
	}
	data := make(map[string]*subscribe.DataItem, len(msg.Data))
	for k, v := range msg.Data {
		data[k] = &subscribe.DataItem{Value: v}
	}
	m := &subscribe.Message{ToUser: msg.ToUser, TemplateID: msg.TemplateID, Page: msg.Page, Data: data,
		MiniprogramState: msg.State, Lang: "zh_CN"}
	// The SDK's Send takes no context; it runs beside ctx so a hung WeChat
	// holds the courier no longer than ctx allows.
	done := make(chan error, 1)
	go func() { done <- mp.GetSubscribe().Send(m) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return fmt.Errorf("%w: subscribe/send: %w", ErrUpstream, ctx.Err())
	}
	if err == nil {
		return nil
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &APIError{API: "subscribe/send", Code: int(ce.ErrCode), Msg: ce.ErrMsg}
	}
	// Transport errors quote the URL, which holds the access_token.
	return fmt.Errorf("%w: subscribe/send request failed", ErrUpstream)
}
