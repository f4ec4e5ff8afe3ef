package wechat

import (
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// DefaultAPIBase is the address the SDK has hard-coded.
const DefaultAPIBase = "https://api.weixin.qq.com"

// RedirectSDK points the SDK's requests at base (the sandbox, a proxy)
// instead of DefaultAPIBase. The SDK keeps the redirect in a process-global
// variable it reads without a lock, so main calls this once, before any
// client exists; a process that serves twice (tests) must do so one
// service after another.
func RedirectSDK(base string) {
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
