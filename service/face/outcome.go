package face

// Outcome is what a check says about the person, in the few classes the
// flow acts on. Values are stable snake_case words, fit for records,
// metrics and the console.
type Outcome string

// Outcomes. Only OutcomePassed proves the person.
const (
	// OutcomePassed: the face is the holder's, and name and number are
	// the authority's record (WeChat 10000).
	OutcomePassed Outcome = "passed"
	// OutcomeIdentityMismatch: the ID number or name does not match the
	// authority's record (WeChat 10003).
	OutcomeIdentityMismatch Outcome = "identity_mismatch"
	// OutcomeFaceMismatch: the person is not the holder (WeChat 10004,
	// 10012 比对验证失败, 10041 非法用户).
	OutcomeFaceMismatch Outcome = "face_mismatch"
	// OutcomeNoRecord: the authority has no photo of this identity to
	// compare with (WeChat 10026).
	OutcomeNoRecord Outcome = "no_record"
	// OutcomePending: the vendor is still comparing; ask again later
	// with the same ticket (WeChat 10005).
	OutcomePending Outcome = "pending"
	// OutcomeNotFinished: the user did not complete the capture (left,
	// cancelled, no camera permission, timed out …); Cause says why. The
	// user may retry, with a new ticket (WeChat 10300 and 90000–90199).
	OutcomeNotFinished Outcome = "not_finished"
	// OutcomeRepeated: the vendor says it already answered this check and
	// the earlier answer stands (WeChat 10021). It carries no verdict of
	// its own: the caller keeps the result it stored the first time.
	OutcomeRepeated Outcome = "repeated"
	// OutcomeRateLimited: the vendor wants fewer requests; ask again later
	// (WeChat 10042).
	OutcomeRateLimited Outcome = "rate_limited"
	// OutcomeConfigError: our request or the app's permissions are wrong
	// (WeChat 10001 参数错误, 10006 appid 没有权限, 10040 encoding): no
	// retry helps until someone fixes the integration.
	OutcomeConfigError Outcome = "config_error"
	// OutcomeFailed: the check failed for another reason, or the vendor
	// answered a value nobody documented; Result.Code keeps it for staff.
	OutcomeFailed Outcome = "failed"
)

// Cause is why a check did not finish (OutcomeNotFinished), in words the
// flow can show the user. It is CauseNone for every other outcome.
type Cause string

// Causes of a check that did not finish.
const (
	CauseNone Cause = ""
	// CauseUnfinished: the user left without completing it (WeChat 10300).
	CauseUnfinished Cause = "unfinished"
	// CauseCancelled: the user cancelled the capture.
	CauseCancelled Cause = "cancelled"
	// CauseNoPermission: the camera or microphone permission was refused.
	CauseNoPermission Cause = "no_permission"
	// CauseTimeout: the capture took too long.
	CauseTimeout Cause = "timeout"
	// CauseDeviceUnsupported: the phone or WeChat version cannot capture.
	CauseDeviceUnsupported Cause = "device_unsupported"
	// CauseNetwork: the phone's network failed during the capture.
	CauseNetwork Cause = "network"
	// CauseCaptureInvalid: the capture was unusable (no face, several
	// faces, too dark …).
	CauseCaptureInvalid Cause = "capture_invalid"
	// CauseSystem: the vendor's client failed.
	CauseSystem Cause = "system"
	// CauseOther: a client-side code the vendor's document does not name.
	CauseOther Cause = "other"
)
