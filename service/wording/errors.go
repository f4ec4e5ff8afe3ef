package wording

// errorWords are the words for the server API's error answers, by message id:
// the error code, or code.variant where one code has several causes. A
// business system's developer reads them; the code stays the contract.
var errorWords = map[string]text{
	"api_key_required":     {"请在请求头中携带 Authorization: Bearer <API 密钥>", "send Authorization: Bearer <API key>"},
	"invalid_api_key":      {"API 密钥不存在、格式错误或已吊销", "the API key is unknown, malformed or revoked"},
	"insufficient_scope":   {"此 API 密钥缺少所需的权限范围：", "this API key lacks the scope "},
	"rate_limited.api_key": {"此 API 密钥请求过于频繁，请在 Retry-After 秒后重试", "too many requests with this API key; retry after Retry-After seconds"},
	"user_not_found":       {"没有以此 openid（及 appid）或 unionid 登录过的用户", "no user with this openid (and appid) or unionid has logged in"},
	"subject_conflict":     {"路径中的 openid 与 unionid 指向不同的用户；只用其中一个指明用户", "the openid in the path and the unionid name different users; name the user by one of them"},
	"not_verified":         {"只有已认证的认证记录可以撤销", "only a verified verification can be revoked"},
	"reason_required":      {"请在 reason 中说明撤销原因，它会写入审计记录", "say why in reason; it goes into the audit trail"},
	"invalid_request.subject": {"请用路径中的 openid（可加 ?appid=）指明用户，或用 ?unionid= 并把路径中的 openid 写作 -",
		"name the user by openid (with appid) or by ?unionid= with - as the openid"},
	"invalid_request.limit": {"limit 的取值范围为 1 至 ", "limit must be 1 to "},
	"invalid_request.type":  {"未知的事件类型；已知类型：", "unknown event type; known: "},
	"invalid_cursor":        {"after 必须是之前某次响应中 next 给出的游标", "after must be a cursor from an earlier answer's next"},
	"cursor_expired": {"此游标之后的事件已超过保留期被删除；请不带 after 从最早保留的事件重新读取，并按用户状态核对",
		"the events after this cursor are past their retention; read again without after (from the oldest kept) and reconcile your users by their status"},
}

// Error is the words for an error answer's message id in l, or "" when
// there are none (the caller keeps its own).
func Error(l Lang, id string) string {
	t, ok := errorWords[id]
	if !ok {
		return ""
	}
	return t.in(l)
}
