package wechat

import "realname/service/face"

// ClassifyVerifyRet reads queryVerifyInfo's verify_ret into the outcome
// the flow acts on, following the table of the protocol document. Where
// it lists a range loosely the readings are:
//   - 10012 (比对验证失败) and 10041 (非法用户) are a face mismatch, with
//     10004: each says the comparison ran and refused the person.
//   - 10002 and 10007–10020 other than 10012, 10029, 10045, 10052 and any
//     value the document does not name are OutcomeFailed: not a verdict
//     about the person, and not one the flow can retry blindly.
//   - 90000–90199 are the Mini Program's client codes, OutcomeNotFinished
//     with the cause the document gives; its two copies number them
//     slightly differently, so a code in the range it does not name is
//     CauseOther rather than a guess.
func ClassifyVerifyRet(ret int) (face.Outcome, face.Cause) {
	switch {
	case ret == 10000:
		return face.OutcomePassed, face.CauseNone
	case ret == 10003:
		return face.OutcomeIdentityMismatch, face.CauseNone
	case ret == 10004, ret == 10012, ret == 10041:
		return face.OutcomeFaceMismatch, face.CauseNone
	case ret == 10026:
		return face.OutcomeNoRecord, face.CauseNone
	case ret == 10005:
		return face.OutcomePending, face.CauseNone
	case ret == 10021:
		return face.OutcomeRepeated, face.CauseNone
	case ret == 10042:
		return face.OutcomeRateLimited, face.CauseNone
	case ret == 10001, ret == 10006, ret == 10040:
		return face.OutcomeConfigError, face.CauseNone
	case ret == 10300:
		return face.OutcomeNotFinished, face.CauseUnfinished
	case 90000 <= ret && ret <= 90199:
		return face.OutcomeNotFinished, clientCause(ret)
	}
	return face.OutcomeFailed, face.CauseNone
}

// clientCause names the cause of a 900xx client code.
func clientCause(ret int) face.Cause {
	switch {
	case ret == 90001, ret == 90109:
		return face.CauseDeviceUnsupported
	case 90002 <= ret && ret <= 90006, ret == 90024:
		return face.CauseCancelled
	case ret == 90007, ret == 90012:
		return face.CauseNetwork
	case 90008 <= ret && ret <= 90010:
		return face.CauseNoPermission
	case ret == 90011, ret == 90013, ret == 90014:
		return face.CauseCaptureInvalid
	case ret == 90017, ret == 90107:
		return face.CauseTimeout
	case ret == 90018, ret == 90199:
		return face.CauseSystem
	}
	return face.CauseOther
}
