package wechat

import (
	"net/http"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// DefaultAPIBase is the address the SDK has hard-coded.
const DefaultAPIBase = "https://api.weixin.qq.com"

// RedirectSDK points the SDK's requests at base (the sandbox, a proxy)
// instead of DefaultAPIBase, and puts the SDK's HTTP client over sdkCodes
// so its answers' errcode may come as a string. It is the one place the
// SDK's process-global settings are made: the SDK reads them without a
// lock, so main calls this once, before any client exists; a process that
// serves twice (tests) must do so one service after another.
func RedirectSDK(base string) {
	if _, ok := util.DefaultHTTPClient.Transport.(sdkCodes); !ok {
		util.DefaultHTTPClient = &http.Client{Transport: sdkCodes{next: http.DefaultTransport}}
	}
	base = strings.TrimRight(base, "/")
	if base == "" || base == DefaultAPIBase {
		util.SetURIModifier(nil)
		return
	}
	util.SetURIModifier(func(uri string) string {
		if rest, ok := strings.CutPrefix(uri, DefaultAPIBase); ok {
			return base + rest
		}
		return uri
	})
}
