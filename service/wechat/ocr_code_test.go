package wechat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"realname/sandbox"
	"realname/service/ocr"
)

// TestOCRStringErrcodeIsSuccess: WeChat answering "errcode":"0" (a
// string, as a copy of its document shows it) with a reading is a
// success: the chain keeps WeChat's reading and the paid vendor behind it
// is never called.
func TestOCRStringErrcodeIsSuccess(t *testing.T) {
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errcode":"0","errmsg":"ok","type":"Front","name":"林浩然","id":"110101199005142138",` +
			`"addr":"北京市东城区","gender":"男","nationality":"汉"}`))
	}))
	defer wx.Close()
	cards, err := sandboxCards()
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(quietLog)
	sandbox.NewApizero(cards, "").Mount(srv)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close(context.Background()) }()
	first, err := NewOCR(wx.URL, wx.Client(), ocrAppID, stubDoer("TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	paid := ocr.NewApizero(srv.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, nil)
	paid.SetRateLimit(rate.Inf, 1)
	chain := ocr.NewChain([]ocr.Provider{first, paid}, ocr.ChainOptions{}, quietLog, prometheus.NewRegistry())
	res, attempts, err := chain.Recognize(context.Background(), ocr.Request{Image: sample(t, "male_front.png"), Side: ocr.SideFront})
	if err != nil || res.Provider != OCRName || res.Name != "林浩然" || res.IDNumber != "110101199005142138" {
		t.Fatalf("result %+v, attempts %+v: %v", res, attempts, err)
	}
	if n := srv.Calls()["apizero POST /apizero/api/ocr-idcard"]; n != 0 || len(attempts) != 1 {
		t.Fatalf("the next vendor was called %d times; attempts %+v", n, attempts)
	}
}
