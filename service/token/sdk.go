package token

import (
	"context"

	"github.com/silenceper/wechat/v2/credential"
)

// sdkHandle plugs the service into silenceper/wechat/v2, so every SDK call
// that needs an access_token takes it from the shared cache.
type sdkHandle struct {
	s     *Service
	appID string
}

// SDKHandle returns the SDK's credential.AccessTokenContextHandle for appID.
func (s *Service) SDKHandle(appID string) credential.AccessTokenContextHandle {
	return sdkHandle{s: s, appID: appID}
}

func (h sdkHandle) GetAccessToken() (string, error) {
	return h.s.Token(context.Background(), h.appID)
}

func (h sdkHandle) GetAccessTokenContext(ctx context.Context) (string, error) {
	return h.s.Token(ctx, h.appID)
}
