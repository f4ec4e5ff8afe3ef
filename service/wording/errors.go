package wording

// errorTexts are the Chinese words for the other error codes of the APIs
// (those errorWords lacks). The handlers keep the English ones, which may
// name the field or limit at fault; a Chinese reader gets the cause and
// what to do.
var errorTexts = map[string]string{
	"already_verified":         "该用户已完成实名认证",
	"body_too_large":           "请求内容过大",
	"busy":                     "服务器正忙于处理其他照片，请几秒后重试",
	"check_disabled":           "未开通无照片的核验方式",
	"confirm_correction":       "填写的信息与证件不一致，请核对；确认无误后带 confirm: true 重新提交",
	"consent_outdated":         "用户同意的是旧版个人信息告知，请展示最新版本",
	"consent_required":         "请携带 consent_version：用户同意的个人信息告知版本",
	"disk_full":                "服务器存储空间不足，请稍后重试",
	"face_consent_required":    "请先同意人脸核身的个人信息告知（face.consent_version）",
	"face_not_enabled":         "未开通人脸核身",
	"face_not_started":         "请先开始人脸核身",
	"face_unavailable":         "人脸核身服务暂时不可用，请稍后重试",
	"too_many_waiters":         "该 API 密钥同时等待的长轮询过多，请等其中一个结束",
	"stepup_not_found":         "没有该身份复核请求",
	"stepup_finished":          "该身份复核请求已结束",
	"id_number_invalid":        "身份证号无效，请逐位核对",
	"idempotency_in_progress":  "使用该 Idempotency-Key 的请求仍在处理中",
	"idempotency_key_erased":   "该 Idempotency-Key 的应答已随用户数据删除；请用新的 Key 重新发送",
	"idempotency_key_reused":   "该 Idempotency-Key 已用于另一个请求",
	"image_invalid":            "照片无法读取，请重新拍摄",
	"image_required":           "请在 multipart 字段 image 中上传照片",
	"image_too_large":          "照片像素过多，请用相机的普通模式拍摄",
	"internal_error":           "服务器内部错误",
	"invalid_code":             "登录凭证无效、已过期或已使用，请重新调用 wx.login",
	"invalid_request":          "请求参数无效",
	"invalid_state":            "当前认证状态下不能进行此操作",
	"invalid_text":             "请求中有不是有效 UTF-8 文本的内容",
	"malformed_json":           "请求内容不是有效的 JSON 对象",
	"method_not_allowed":       "此接口不支持该请求方法",
	"name_invalid":             "姓名无效，请按身份证上的写法填写",
	"no_verification":          "尚未开始实名认证",
	"not_an_id_card":           "照片中没有找到身份证，请将整张证件放入画面后重拍",
	"not_found":                "请求的资源不存在",
	"ocr_unavailable":          "照片暂时无法识别，请稍后重试",
	"rate_limited":             "请求过于频繁，请稍后重试",
	"risky_user":               "微信拒绝了该账号",
	"service_unavailable":      "服务暂时不可用，请稍后重试",
	"side_missing":             "请先上传证件的另一面",
	"timeout":                  "请求处理超时，请稍后重试",
	"too_many_attempts":        "今日尝试次数过多，请明天再试",
	"too_many_checks_for_id":   "该身份证号今日核验次数过多，请明天再试",
	"too_many_ids_for_account": "该账号今日尝试的身份证号过多，请明天再试",
	"unauthorized":             "未登录或登录已过期，请重新登录",
	"unknown_app":              "未知的 appid",
	"unknown_field":            "请求中有未知字段",
	"unsupported_image":        "照片须为 JPEG、PNG 或 BMP 格式",
	"unsupported_media_type":   "请求的内容类型不受支持",
	"upstream_unavailable":     "微信服务暂时不可用，请稍后重试",
	"verification_erased":      "该认证已应用户要求删除，请重新开始认证",
}

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
	"invalid_request.wait":  {"wait 须为 0 至 25s 的时长，例如 25s", "wait must be a duration from 0 to 25s, e.g. 25s"},
	"invalid_request.type":  {"未知的事件类型；已知类型：", "unknown event type; known: "},
	"invalid_cursor":        {"after 必须是之前某次响应中 next 给出的游标", "after must be a cursor from an earlier answer's next"},
	"cursor_expired": {"此游标之后的事件已超过保留期被删除；请不带 after 从最早保留的事件重新读取，并按用户状态核对",
		"the events after this cursor are past their retention; read again without after (from the oldest kept) and reconcile your users by their status"},
}

// Error is the words for an error answer's message id in l, or "" when
// there are none (the caller keeps its own English).
func Error(l Lang, id string) string {
	if t, ok := errorWords[id]; ok {
		return t.in(l)
	}
	if l == English {
		return ""
	}
	return errorTexts[id]
}

// HasErrorMessage reports whether code has Chinese words, for the test
// that every code the APIs answer with has them.
func HasErrorMessage(code string) bool { return Error(Chinese, code) != "" }
