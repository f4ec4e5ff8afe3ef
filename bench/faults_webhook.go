package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// hookReceiver stands in for the business system: it acknowledges every
// delivery and remembers the event ids it saw. It can be stopped and
// started again on the same port, as a receiver being deployed would be.
type hookReceiver struct {
	addr string
	mu   sync.Mutex
	seen map[string]int // webhook-id → deliveries
	hs   *http.Server
}

func startHookReceiver() (*hookReceiver, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r := &hookReceiver{addr: addr, seen: map[string]int{}}
	return r, r.start()
}

func (r *hookReceiver) url() string { return "http://" + r.addr + "/hooks/realname" }

// start listens again on the receiver's port.
func (r *hookReceiver) start() error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return err
	}
	r.hs = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
		if id := req.Header.Get("webhook-id"); id != "" {
			r.mu.Lock()
			r.seen[id]++
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	hs := r.hs
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return nil
}

// stop closes the listener and every connection: deliveries meet a
// refused connection until start.
func (r *hookReceiver) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.hs.Shutdown(ctx); err != nil {
		_ = r.hs.Close()
	}
}

// received reports whether event id has arrived at least once.
func (r *hookReceiver) received(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id] > 0
}

// webhookVar matches the webhook variables `serve --help` lists.
var webhookVar = regexp.MustCompile(`REALNAME_WEBHOOK_[A-Z_]+`)

// webhookEnv configures the dispatcher, when the built binary has one,
// to deliver to the receiver: every variable is taken from the binary's
// own help, so the bench sets only names it accepts. A retry schedule of
// seconds instead of the production hours lets deliveries missed while the
// receiver was down arrive before the run ends.
func webhookEnv(help, receiverURL string) (map[string]string, bool) {
	names := map[string]bool{}
	for _, n := range webhookVar.FindAllString(help, -1) {
		names[n] = true
	}
	if !names["REALNAME_WEBHOOK_URL"] {
		return nil, false
	}
	env := map[string]string{"REALNAME_WEBHOOK_URL": receiverURL}
	for n := range names {
		switch {
		case n == "REALNAME_WEBHOOK_SECRET":
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			env[n] = "whsec_" + base64.StdEncoding.EncodeToString(key)
		case strings.Contains(n, "ALLOW_CIDRS"):
			env[n] = "127.0.0.1/32"
		case strings.Contains(n, "SCHEDULE"):
			env[n] = "1s,2s,3s,5s,5s,10s,10s,10s,10s,10s"
		}
	}
	return env, true
}
