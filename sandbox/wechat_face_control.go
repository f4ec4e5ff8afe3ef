package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Why SetFaceResult refuses; the control endpoint answers them as 404,
// 409 and 400.
var (
	ErrFaceUnknown  = errors.New("sandbox: unknown verify_id")
	ErrFaceExpired  = errors.New("sandbox: verify_id expired: no check can start with it")
	ErrFaceDecided  = errors.New("sandbox: the result of this verify_id was already read")
	ErrFaceNoResult = errors.New("sandbox: verify_ret must not be 0")
)

// SetFaceResult plays what the WeChat client does in the Mini Program: the
// check of verifyID ran and its result is ret (10000 passed, 10004 another
// face, 90002 cancelled …). Until a query has read it, it may be set again,
// as a user may try again within one verify_id; once read it stands.
func (w *WeChat) SetFaceResult(verifyID string, ret int) error {
	if ret == 0 {
		return ErrFaceNoResult
	}
	now := w.opts.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.faces[verifyID]
	switch {
	case c == nil:
		return ErrFaceUnknown
	case !now.Before(c.expires):
		return ErrFaceExpired
	case c.read:
		return ErrFaceDecided
	}
	c.ret = ret
	return nil
}

// SetFaceByCard switches by-card mode: on, a query about a check nobody
// decided answers from the sample cards (10000 for a sample's own name
// and number) instead of 10300. The control endpoint still wins.
func (w *WeChat) SetFaceByCard(on bool) {
	w.mu.Lock()
	w.faceByCard = on
	w.mu.Unlock()
}

// controlFace is POST /_sandbox/wechat/face {"verify_id","verify_ret"}.
func (w *WeChat) controlFace(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		VerifyID  string `json:"verify_id"`
		VerifyRet int    `json:"verify_ret"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": `body must be {"verify_id","verify_ret"}`})
		return
	}
	err := w.SetFaceResult(req.VerifyID, req.VerifyRet)
	switch {
	case errors.Is(err, ErrFaceUnknown):
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, ErrFaceExpired), errors.Is(err, ErrFaceDecided):
		writeJSON(rw, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		writeJSON(rw, http.StatusOK, req)
	}
}

// controlFaceMode is POST /_sandbox/wechat/face/mode {"by_card": bool}.
func (w *WeChat) controlFaceMode(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		ByCard *bool `json:"by_card"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1024)).Decode(&req); err != nil || req.ByCard == nil {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": `body must be {"by_card": bool}`})
		return
	}
	w.SetFaceByCard(*req.ByCard)
	writeJSON(rw, http.StatusOK, map[string]bool{"by_card": *req.ByCard})
}
