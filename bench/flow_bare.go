package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// bareServer is the yardstick for the service's throughput: gin in the
// bench process answering the same four requests with nothing behind
// them. Login and submit answer at once; an upload is read and parsed as
// multipart and the image read whole, which the service has to do too.
// With -latency it waits that long per request, standing in for the one
// upstream call each real step makes (code2session, OCR, OCR, check).
type bareServer struct {
	hs  *http.Server
	url string
}

func startBare(latency time.Duration) (*bareServer, error) {
	gin.SetMode(gin.ReleaseMode) // process-global; the bench serves nothing else with gin
	r := gin.New()
	wait := func(c *gin.Context) {
		if latency > 0 {
			sleepCtx(c.Request.Context(), latency)
		}
	}
	r.POST("/api/v1/session", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		wait(c)
		c.JSON(http.StatusCreated, gin.H{"token": "bare-token", "expires_at": time.Now().Add(time.Hour)})
	})
	r.POST("/api/v1/verification/idcard", func(c *gin.Context) {
		fh, err := c.FormFile("image")
		if err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": gin.H{"code": "image_required"}})
			return
		}
		f, err := fh.Open()
		if err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal_error"}})
			return
		}
		_, err = io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal_error"}})
			return
		}
		wait(c)
		state := "draft"
		if c.PostForm("side") == "back" {
			state = "recognized"
		}
		c.JSON(http.StatusOK, gin.H{"id": 1, "state": state})
	})
	r.POST("/api/v1/verification/submit", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		wait(c)
		c.JSON(http.StatusOK, gin.H{"id": 1, "state": "verified"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &bareServer{hs: &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String()}
	go func() {
		if err := b.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err) // Serve fails only on a broken listener we just opened
		}
	}()
	return b, nil
}

func (b *bareServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.hs.Shutdown(ctx)
}
