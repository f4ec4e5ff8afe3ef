// Package lifecycle runs the long-lived parts of a process as one group:
// started one after another in the order they were added, stopped in the
// reverse order, each stop waited for before the next begins, all within
// one shutdown deadline; the first part that fails stops the rest.
//
// It is our own rather than github.com/oklog/run, the usual run group:
// run.Group starts every actor at once and interrupts them all together,
// while the server needs an order both ways (a metrics port that is taken
// fails the start before the API listens; the API drains before the
// webhook workers stop, and they stop before the database closes).
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Component is one long-lived part of the process.
type Component interface {
	// Start brings the component up and returns once it runs (its port
	// bound), or with why it cannot; its work goes on in goroutines until
	// Stop. A component that ends on its own while running says why
	// through fail, which stops the whole group.
	Start(ctx context.Context, fail func(error)) error
	// Stop ends what Start started and returns once it has ended, or
	// with an error once ctx, the shutdown deadline, expires first.
	Stop(ctx context.Context) error
}

// Group is the process's components in start order.
type Group struct {
	log      *slog.Logger
	timeout  time.Duration
	parts    []*part
	failures chan error // the first failure of a running component
}

type part struct {
	name    string
	c       Component
	running bool
}

// New returns an empty group whose stop, all components together, is
// bounded by shutdownTimeout (REALNAME_SHUTDOWN_TIMEOUT).
func New(log *slog.Logger, shutdownTimeout time.Duration) *Group {
	return &Group{log: log, timeout: shutdownTimeout, failures: make(chan error, 1)}
}

// Add appends c under name; Run starts it after every component added
// before it, and stops it before them.
func (g *Group) Add(name string, c Component) {
	g.parts = append(g.parts, &part{name: name, c: c})
}

// Opened appends a resource the caller has already opened (a database, a
// client): there is nothing to start, and close ends it at its turn in the
// stop, after every component added later.
func (g *Group) Opened(name string, close func(ctx context.Context) error) {
	g.parts = append(g.parts, &part{name: name, c: closer(close), running: true})
}

// Run starts the components not yet running in the order added, then
// waits until ctx ends or one of them fails, and stops every running one
// in reverse order. A component that cannot start stops those started
// before it. Run returns the first failure (nil for a stop asked by ctx)
// or else the first error of a stop.
func (g *Group) Run(ctx context.Context) error {
	var failed error
	for _, p := range g.parts {
		if p.running {
			continue
		}
		if ctx.Err() != nil || failed != nil {
			break
		}
		if err := p.c.Start(ctx, g.failer(p.name)); err != nil {
			failed = fmt.Errorf("start %s: %w", p.name, err)
			break
		}
		p.running = true
		if a, ok := p.c.(interface{ Addr() net.Addr }); ok {
			g.log.Info("component started", "component", p.name, "listen", a.Addr().String())
		} else {
			g.log.Debug("component started", "component", p.name)
		}
		select {
		case failed = <-g.failures:
		default:
		}
	}
	if failed == nil {
		select {
		case <-ctx.Done():
		case failed = <-g.failures:
		}
	}
	if failed != nil {
		g.log.Error("shutting down: a component failed", "err", failed, "timeout", g.timeout)
	} else {
		g.log.Info("shutting down: finishing in-flight work", "timeout", g.timeout)
	}
	err := g.Stop(ctx)
	if failed != nil {
		return failed
	}
	if err == nil {
		g.log.Info("stopped")
	}
	return err
}

// Stop stops every running component in reverse order, all within the
// shutdown timeout, and returns the first error. Run calls it; a caller
// whose assembly fails before Run calls it to close what was opened.
func (g *Group) Stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()
	var first error
	for i := len(g.parts) - 1; i >= 0; i-- {
		p := g.parts[i]
		if !p.running {
			continue
		}
		p.running = false
		if err := p.c.Stop(sctx); err != nil {
			g.log.Error("stop failed", "component", p.name, "err", err)
			if first == nil {
				first = fmt.Errorf("stop %s: %w", p.name, err)
			}
			continue
		}
		g.log.Debug("component stopped", "component", p.name)
	}
	return first
}

// failer is the fail function of the component called name: the first
// failure of any component is kept, later ones only logged.
func (g *Group) failer(name string) func(error) {
	return func(err error) {
		if err == nil {
			err = errors.New("ended on its own")
		}
		err = fmt.Errorf("%s: %w", name, err)
		select {
		case g.failures <- err:
		default:
			g.log.Warn("a component failed after another", "err", err)
		}
	}
}

// closer is a resource opened before the group ran: nothing to start.
type closer func(ctx context.Context) error

func (c closer) Start(context.Context, func(error)) error { return nil }
func (c closer) Stop(ctx context.Context) error           { return c(ctx) }
