// Package wording holds what a person reads about a verification: the
// texts for its states, reasons and next steps, in Chinese (the default)
// and English. Codes stay the contract; these are their words. The Mini
// Program API and the staff console use the same texts, so what a
// reviewer picks is what the user reads.
package wording

import (
	"slices"

	"golang.org/x/text/language"
)

// Lang is a language the texts exist in.
type Lang string

// The languages.
const (
	Chinese Lang = "zh-CN"
	English Lang = "en"
)

// matcher picks between the two; Chinese wins ties and unknown tags.
var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// FromAcceptLanguage reads an Accept-Language header (golang.org/x/text's
// matcher: weights, regions, scripts): English when the caller prefers
// it, otherwise Chinese.
func FromAcceptLanguage(header string) Lang {
	if header == "" || len(header) > 256 {
		return Chinese
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return Chinese
	}
	// No confidence is the matcher's fallback, not a preference: a French
	// browser is answered in Chinese, like one that says nothing.
	if _, i, conf := matcher.Match(tags...); i == 1 && conf != language.No {
		return English
	}
	return Chinese
}

// text is one message in both languages.
type text struct{ zh, en string }

func (t text) in(l Lang) string {
	if l == English {
		return t.en
	}
	return t.zh
}

// reasons are the words for every reason code a verification can carry:
// the flow's own and the ones a reviewer picks.
var reasons = map[string]text{
	"name_id_mismatch":          {"姓名与身份证号不一致，请核对后重新认证", "The name does not match the ID number. Check both and try again."},
	"id_number_invalid":         {"身份证号无效，请逐位核对", "The ID number is not valid. Check it digit by digit."},
	"name_invalid":              {"姓名无效，请按身份证上的写法填写", "The name is not valid. Write it as it is printed on the card."},
	"card_expired":              {"身份证已过期，请使用有效期内的身份证重新认证", "The ID card has expired. Use a card that is still valid."},
	"under_min_age":             {"未达到本服务要求的年龄", "You are under the age this service requires."},
	"no_record":                 {"权威库中暂未查到该身份信息，已转人工审核", "The identity was not found in the official records; a person will review it."},
	"source_unavailable":        {"核验服务暂时不可用，已转人工审核", "The check service is unavailable right now; a person will review it."},
	"id_already_bound":          {"该身份证已绑定其他账号，请联系客服", "This ID card is already linked to another account. Please contact support."},
	"ocr_mismatch":              {"照片信息与填写内容不一致，已转人工审核", "The photo and what was entered disagree; a person will review it."},
	"interrupted":               {"核验被中断，已转人工审核", "The check was interrupted; a person will review it."},
	"guardian_consent_required": {"未满14周岁，需要监护人同意，请联系客服", "Under 14: a guardian's consent is needed. Please contact support."},
	"resubmit_requested":        {"审核人员请你重新拍摄并提交身份证照片", "The reviewer asks you to take and send the photos of your card again."},
	"photo_unreadable":          {"照片看不清，请在光线充足处重新拍摄", "The photos cannot be read. Take them again in good light."},
	"not_original_document":     {"请拍摄身份证原件，不要翻拍屏幕或复印件", "Photograph the original card, not a screen or a copy."},
	"suspected_fraud":           {"认证未通过，如有疑问请联系客服", "The verification did not pass. Contact support if you have questions."},
	"rejected_by_reviewer":      {"审核未通过，如有疑问请联系客服", "The review did not pass. Contact support if you have questions."},
	"revoked":                   {"认证已被撤销，如有疑问请联系客服", "The verification was revoked. Contact support if you have questions."},
	"face_id_mismatch":          {"人脸核身未通过：姓名与身份证号不一致", "The face check did not pass: the name and the ID number do not belong together."},
	"face_mismatch":             {"人脸核身未通过：不是证件持有人本人", "The face check did not pass: the face is not the card holder's."},
}

// faceWaits are the words for a verification waiting for its face check,
// by next step: whatever the reason the name/ID check left on it, the
// user is asked for the face check now, not told of staff.
var faceWaits = map[string]text{
	"face":        {"请完成人脸核身，以确认是证件持有人本人", "Please complete the face check, to confirm you are the card holder."},
	"face_result": {"正在比对人脸，请稍候再查询结果", "The face is being compared; ask for the result again in a moment."},
	"wait_until":  {"今日尝试次数已用完，请于明日再完成人脸核身", "No attempts are left today. Please complete the face check tomorrow."},
}

// faceCauses are the words for why the last face check did not finish.
var faceCauses = map[string]text{
	"unfinished":         {"上次人脸核身未完成", "The last face check was not completed"},
	"cancelled":          {"上次人脸核身已取消", "The last face check was cancelled"},
	"no_permission":      {"上次人脸核身未获得相机权限", "The last face check had no camera permission"},
	"timeout":            {"上次人脸核身超时", "The last face check timed out"},
	"device_unsupported": {"当前设备不支持人脸核身", "This device does not support the face check"},
	"network":            {"上次人脸核身网络异常", "The last face check lost the network"},
	"capture_invalid":    {"上次人脸核身未采集到有效人脸", "The last face check did not capture a usable face"},
	"system":             {"上次人脸核身遇到系统错误", "The last face check hit a system error"},
	"other":              {"上次人脸核身未能完成", "The last face check could not be completed"},
	"expired":            {"上次人脸核身已过期", "The last face check expired"},
	"failed":             {"上次人脸核身未能完成", "The last face check could not be completed"},
	"repeated":           {"上次人脸核身未能完成", "The last face check could not be completed"},
}

// FaceCause is the words for why the last face check did not finish, or
// "" when there are none.
func FaceCause(l Lang, cause string) string { return faceCauses[cause].in(l) }

// states are the words for a state with no reason of its own.
var states = map[string]text{
	"draft":        {"请拍摄并上传身份证的另一面", "Take and upload a photo of the other side of the card."},
	"recognized":   {"请核对识别结果，无误后提交", "Check what was read from your card, then submit."},
	"checking":     {"正在核验，请稍候", "Checking, one moment please."},
	"face_pending": {"请完成人脸核身，以确认是证件持有人本人", "Please complete the face check, to confirm you are the card holder."},
	"review":       {"已提交人工审核，结果会通知你", "A person is reviewing it; you will be told the result."},
	"verified":     {"实名认证成功", "You are verified."},
	"rejected":     {"认证未通过", "The verification did not pass."},
	"expired":      {"认证已超时，请重新开始", "The verification timed out. Please start again."},
	"erased":       {"你的认证资料已按你的要求删除，可重新认证", "Your verification data was erased as you asked. You can verify again."},
	"none":         {"尚未认证，请拍摄身份证人像面开始", "Not verified yet. Take a photo of the front of your ID card to start."},
}

// waits are the words for a next step that is a wait.
var waits = map[string]text{
	"wait_until": {"今日尝试次数已用完，请于明日再试", "No attempts are left today. Please try again tomorrow."},
}

// Status is the sentence for a verification in state with reason, whose
// next step is next: the reason's words when it has them, else the
// state's; a wait says so. A recognised card that is expired (warning
// card_expired) is said as such: confirming it cannot succeed.
func Status(l Lang, state, reason, next string, warnings ...string) string {
	if state == "face_pending" {
		if t, ok := faceWaits[next]; ok {
			return t.in(l)
		}
		return faceWaits["face"].in(l)
	}
	if reason == "" && state == "recognized" && next == "upload_again" && slices.Contains(warnings, "card_expired") {
		reason = "card_expired"
	}
	if t, ok := waits[next]; ok && state != "review" && state != "checking" {
		if r, ok := reasons[reason]; ok {
			return r.in(l) + sep(l) + t.in(l)
		}
		return t.in(l)
	}
	if t, ok := reasons[reason]; ok {
		return t.in(l)
	}
	if t, ok := states[state]; ok {
		return t.in(l)
	}
	return states["none"].in(l)
}

func sep(l Lang) string {
	if l == English {
		return " "
	}
	return "。"
}

// Reason is the words for a reason code, or "" when there are none.
func Reason(l Lang, code string) string { return reasons[code].in(l) }
