package sandbox

import (
	"encoding/json"
	"net/http"
)

// controlApp is the body of the app control endpoints.
type controlApp struct {
	AppID  string `json:"appid"`
	Secret string `json:"secret"`
}

// controlAddApp is POST /_sandbox/wechat/apps {"appid","secret"}.
func (w *WeChat) controlAddApp(rw http.ResponseWriter, r *http.Request) {
	req, ok := decodeControl(rw, r)
	if !ok {
		return
	}
	if req.Secret == "" {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": "secret is required"})
		return
	}
	w.AddApp(req.AppID, req.Secret)
	writeJSON(rw, http.StatusOK, map[string]string{"appid": req.AppID})
}

// controlInvalidate is POST /_sandbox/wechat/invalidate {"appid"}: it
// plays another system refreshing the app's tokens behind our back.
func (w *WeChat) controlInvalidate(rw http.ResponseWriter, r *http.Request) {
	req, ok := decodeControl(rw, r)
	if !ok || !w.knownApp(rw, req.AppID) {
		return
	}
	w.InvalidateTokens(req.AppID)
	writeJSON(rw, http.StatusOK, map[string]any{"appid": req.AppID, "invalidated": true})
}

// controlTokens is GET /_sandbox/wechat/tokens?appid=, the Issued counters.
func (w *WeChat) controlTokens(rw http.ResponseWriter, r *http.Request) {
	appid := r.URL.Query().Get("appid")
	if !w.knownApp(rw, appid) {
		return
	}
	classic, stable, forced := w.Issued(appid)
	writeJSON(rw, http.StatusOK, map[string]any{
		"appid":           appid,
		"issued_classic":  classic,
		"issued_stable":   stable,
		"force_refreshes": forced,
	})
}

// decodeControl reads a control body with a non-empty appid, answering 400
// itself when there is none.
func decodeControl(rw http.ResponseWriter, r *http.Request) (controlApp, bool) {
	var req controlApp
	err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 4096)).Decode(&req)
	if err != nil || req.AppID == "" {
		writeJSON(rw, http.StatusBadRequest, map[string]string{"error": `body must be {"appid",…}`})
		return req, false
	}
	return req, true
}

// knownApp answers 404 for an appid the fake does not serve, so a typo in
// a test shows up as such rather than as zero counters.
func (w *WeChat) knownApp(rw http.ResponseWriter, appid string) bool {
	w.mu.Lock()
	_, ok := w.apps[appid]
	w.mu.Unlock()
	if !ok {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "unknown appid " + appid})
	}
	return ok
}
