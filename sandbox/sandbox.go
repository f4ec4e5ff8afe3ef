// Package sandbox holds protocol-faithful fakes of the upstream services
// (WeChat, the OCR vendors, the name/ID check vendor). Tests, `realname serve
// --sandbox` and the bench harness all use them. Every fake counts its calls
// and can be told to fail, per upstream, through /_sandbox endpoints.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Fault modes accepted by POST /_sandbox/faults.
const (
	ModeOK      = "ok"      // answer normally
	ModeError   = "error"   // the upstream's own server-error answer
	ModeTimeout = "timeout" // accept the request and never answer in time
	ModeSlow    = "slow"    // answer normally after DelayMS
	ModeQuota   = "quota"   // the upstream's own quota/rate-limit answer
)

// Fault is how one upstream misbehaves.
type Fault struct {
	Upstream string `json:"upstream"`
	Mode     string `json:"mode"`
	DelayMS  int    `json:"delay_ms,omitempty"` // for slow; default 3000
}

// FailureWriter writes an upstream's own answer for the error and quota
// modes, in its documented format (WeChat errcode JSON, vendor codes, …).
type FailureWriter func(w http.ResponseWriter, r *http.Request, mode string)

// Server is the set of fakes behind one HTTP listener.
type Server struct {
	log      *slog.Logger
	mux      *http.ServeMux
	mu       sync.Mutex
	calls    map[string]int
	faults   map[string]Fault
	failures map[string]FailureWriter
	srv      *http.Server
	url      string
}

// New returns a server with only the control endpoints; Register adds fakes.
func New(log *slog.Logger) *Server {
	s := &Server{
		log:      log,
		mux:      http.NewServeMux(),
		calls:    map[string]int{},
		faults:   map[string]Fault{},
		failures: map[string]FailureWriter{},
	}
	s.mux.HandleFunc("GET /_sandbox/calls", s.getCalls)
	s.mux.HandleFunc("DELETE /_sandbox/calls", s.resetCalls)
	s.mux.HandleFunc("POST /_sandbox/faults", s.setFault)
	s.mux.HandleFunc("GET /_sandbox/faults", s.getFaults)
	return s
}

// Register mounts a fake endpoint of upstream at pattern (a ServeMux pattern
// such as "POST /cgi-bin/token"). Calls are counted as "upstream pattern";
// faults set for upstream apply before h runs; fail renders error and quota.
func (s *Server) Register(upstream, pattern string, h http.Handler, fail FailureWriter) {
	s.mu.Lock()
	s.failures[upstream] = fail
	s.mu.Unlock()
	name := upstream + " " + pattern
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[name]++
		f := s.faults[upstream]
		s.mu.Unlock()
		switch f.Mode {
		case ModeTimeout:
			// Hold the request until the client gives up (or the fake stops).
			// The body is read first: the server notices a client that went
			// away only once the body has been consumed.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
			return
		case ModeSlow:
			delay := time.Duration(f.DelayMS) * time.Millisecond
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		case ModeError, ModeQuota:
			if fail != nil {
				fail(w, r, f.Mode)
			} else {
				http.Error(w, "sandbox fault", http.StatusInternalServerError)
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// HandleControl mounts a fake's own control endpoint (under /_sandbox/):
// unlike Register it is not counted as an upstream call and faults never
// apply, so tests can steer a fake that is currently set to fail.
func (s *Server) HandleControl(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// Handler serves the fakes and the control endpoints.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (host:0 picks a free port) and serves in the
// background; URL tells where.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen %s: %w", addr, err)
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the fakes answer on, once started.
func (s *Server) URL() string { return s.url }

// Close stops the listener, cutting held (timeout-mode) requests.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	// Requests held by the timeout and slow faults would keep a plain
	// Shutdown waiting: give in-flight calls a moment, then cut them.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// Calls returns a copy of the call counters, keyed "upstream pattern".
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// SetFault makes upstream misbehave; mode "ok" clears it.
func (s *Server) SetFault(f Fault) error {
	switch f.Mode {
	case ModeOK, ModeError, ModeTimeout, ModeQuota:
	case ModeSlow:
		if f.DelayMS <= 0 {
			f.DelayMS = 3000
		}
	default:
		return fmt.Errorf("sandbox: unknown mode %q", f.Mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.failures[f.Upstream]; !ok {
		return fmt.Errorf("sandbox: unknown upstream %q", f.Upstream)
	}
	if f.Mode == ModeOK {
		delete(s.faults, f.Upstream)
	} else {
		s.faults[f.Upstream] = f
	}
	return nil
}

func (s *Server) getCalls(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"calls": s.Calls()})
}

func (s *Server) resetCalls(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.calls = map[string]int{}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"upstream\",\"mode\"}"})
		return
	}
	if err := s.SetFault(f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("sandbox fault set", "upstream", f.Upstream, "mode", f.Mode)
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	list := make([]Fault, 0, len(s.faults))
	upstreams := make([]string, 0, len(s.failures))
	for _, f := range s.faults {
		list = append(list, f)
	}
	for u := range s.failures {
		upstreams = append(upstreams, u)
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Upstream < list[j].Upstream })
	sort.Strings(upstreams)
	writeJSON(w, http.StatusOK, map[string]any{"faults": list, "upstreams": upstreams})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
