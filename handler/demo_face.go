package handler

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// demoFaceRets are the outcomes the demo's sheet offers in place of
// WeChat's client: passed, another face, cancelled. Nothing else goes
// through, so the route is no general door to the sandbox's controls.
var demoFaceRets = map[int]bool{10000: true, 10004: true, 90002: true}

// demoFaceClient talks to the in-process sandbox; a short timeout, since
// it answers at once or not at all.
var demoFaceClient = &http.Client{Timeout: 5 * time.Second}

// demoFace is POST /demo/face {"verify_id","verify_ret"}: the /demo page
// plays what the phone tells WeChat after wx.requestFacialVerify, through
// the sandbox's control (POST {sandbox}/_sandbox/wechat/face). It goes
// through this server rather than from the browser to the sandbox, which
// listens on its own address that the browser may not reach, and has no
// CORS. Mounted with /demo, so only in sandbox mode.
func demoFace(log *slog.Logger, sandboxURL string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req struct {
			VerifyID  string `json:"verify_id"`
			VerifyRet int    `json:"verify_ret"`
		}
		if !bindJSON(c, &req) {
			return
		}
		if req.VerifyID == "" || len(req.VerifyID) > 256 || !demoFaceRets[req.VerifyRet] {
			abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "verify_id and verify_ret 10000, 10004 or 90002")
			return
		}
		body, _ := json.Marshal(req) // a struct of a string and an int: cannot fail
		out, err := http.NewRequestWithContext(c.Request.Context(), http.MethodPost, sandboxURL+"/_sandbox/wechat/face", bytes.NewReader(body))
		if err != nil {
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
			return
		}
		out.Header.Set("Content-Type", "application/json")
		resp, err := demoFaceClient.Do(out)
		if err != nil {
			log.Warn("demo: sandbox face control", "err", err)
			abortWithError(c, http.StatusBadGateway, CodeUpstreamUnavailable, "the sandbox did not answer")
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		switch {
		case resp.StatusCode < 300:
			c.JSON(http.StatusOK, req)
		case resp.StatusCode == http.StatusNotFound:
			abortWithError(c, http.StatusNotFound, CodeNotFound, "the sandbox knows no such verify_id")
		case resp.StatusCode == http.StatusConflict:
			abortWithError(c, http.StatusConflict, CodeInvalidState, "the verify_id expired or its result was already read")
		default:
			abortWithError(c, http.StatusBadGateway, CodeUpstreamUnavailable, "the sandbox refused the face result")
		}
	}
}
