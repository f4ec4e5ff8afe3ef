package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
)

// Job is a background loop as a component: run works until its context
// ends (a worker, a poller, a listener for other instances). Start runs it
// on a context that only Stop cancels, not the one that asked the process
// to stop, so the jobs end one at a time in the group's order.
type Job struct {
	run      func(ctx context.Context)
	cancel   context.CancelFunc
	done     chan struct{}
	stopping atomic.Bool
}

// NewJob returns run as a component.
func NewJob(run func(ctx context.Context)) *Job { return &Job{run: run} }

// Start runs the loop. A loop that returns before Stop fails the group:
// nothing would do its work any more.
func (j *Job) Start(ctx context.Context, fail func(error)) error {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel, j.done = cancel, make(chan struct{})
	go func() {
		defer close(j.done)
		j.run(jctx)
		if !j.stopping.Load() {
			fail(errors.New("ended on its own"))
		}
	}()
	return nil
}

// Stop cancels the loop's context and waits for it to return.
func (j *Job) Stop(ctx context.Context) error {
	j.stopping.Store(true)
	j.cancel()
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("still running at the shutdown deadline: %w", ctx.Err())
	}
}

// Server is an HTTP server as a component. Start listens before it
// returns, so a port that is taken fails the start.
type Server struct {
	HTTP *http.Server // HTTP.Addr is where it listens
	// Drain lets requests in flight finish at Stop, until the shutdown
	// deadline; without it Stop closes every connection at once (a
	// profile being taken need not hold the shutdown up).
	Drain bool
	ln    net.Listener
}

// Start listens on HTTP.Addr and serves there.
func (s *Server) Start(_ context.Context, fail func(error)) error {
	ln, err := net.Listen("tcp", s.HTTP.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.HTTP.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fail(err)
		}
	}()
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stop stops taking connections and, with Drain, waits for the requests
// in flight; what is still open at the deadline is closed.
func (s *Server) Stop(ctx context.Context) error {
	if !s.Drain {
		return s.HTTP.Close()
	}
	if err := s.HTTP.Shutdown(ctx); err != nil {
		_ = s.HTTP.Close()
		return err
	}
	return nil
}
