package lifecycle

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// journal records what the components of one test did, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, s)
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// probe is a component that records its start and stop; startErr fails
// its start, and fail (once started) is how the test makes it fail.
type probe struct {
	name     string
	j        *journal
	startErr error
	fail     func(error)
	started  chan struct{}
}

func newProbe(name string, j *journal) *probe {
	return &probe{name: name, j: j, started: make(chan struct{})}
}

func (p *probe) Start(_ context.Context, fail func(error)) error {
	if p.startErr != nil {
		p.j.add("refuse " + p.name)
		return p.startErr
	}
	p.fail = fail
	p.j.add("start " + p.name)
	close(p.started)
	return nil
}

func (p *probe) Stop(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		p.j.add("stop " + p.name + " without a deadline")
	}
	p.j.add("stop " + p.name)
	return nil
}

// TestStopsInReverseOrder: components start in the order added and stop
// in the reverse order when the context ends; resources opened before Run
// close after every component added after them.
func TestStopsInReverseOrder(t *testing.T) {
	j := &journal{}
	g := New(quiet, time.Minute)
	g.Opened("database", func(context.Context) error { j.add("close database"); return nil })
	a, b, c := newProbe("a", j), newProbe("b", j), newProbe("c", j)
	g.Add("a", a)
	g.Add("b", b)
	g.Add("c", c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-c.started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a", "close database"}
	if got := j.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestFailureStopsTheRest: a component that fails while running stops
// every other one, in reverse order, and Run returns its failure.
func TestFailureStopsTheRest(t *testing.T) {
	j := &journal{}
	g := New(quiet, time.Minute)
	a, b, c := newProbe("a", j), newProbe("b", j), newProbe("c", j)
	g.Add("a", a)
	g.Add("b", b)
	g.Add("c", c)
	boom := errors.New("boom")
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	<-c.started
	b.fail(boom)
	err := <-done
	if !errors.Is(err, boom) || err.Error() != "b: boom" {
		t.Fatalf("Run: %v, want b: boom", err)
	}
	want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
	if got := j.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestStartFailureStopsWhatStarted: a component that cannot start stops
// those started before it, and those after it never start.
func TestStartFailureStopsWhatStarted(t *testing.T) {
	j := &journal{}
	g := New(quiet, time.Minute)
	g.Opened("database", func(context.Context) error { j.add("close database"); return nil })
	a, b, c := newProbe("a", j), newProbe("b", j), newProbe("c", j)
	b.startErr = errors.New("port taken")
	g.Add("a", a)
	g.Add("b", b)
	g.Add("c", c)
	err := g.Run(context.Background())
	if err == nil || err.Error() != "start b: port taken" {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"start a", "refuse b", "stop a", "close database"}
	if got := j.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestStopClosesWhatAssemblyOpened: a process whose assembly fails before
// Run closes what it had opened, last first.
func TestStopClosesWhatAssemblyOpened(t *testing.T) {
	j := &journal{}
	g := New(quiet, time.Minute)
	g.Opened("database", func(context.Context) error { j.add("close database"); return nil })
	g.Opened("redis", func(context.Context) error { j.add("close redis"); return errors.New("already closed") })
	g.Add("never", newProbe("never", j))
	if err := g.Stop(context.Background()); err == nil || err.Error() != "stop redis: already closed" {
		t.Fatalf("Stop: %v", err)
	}
	want := []string{"close redis", "close database"}
	if got := j.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestJobEndingOnItsOwnFails: a background loop that returns before it
// is stopped fails the group; one stopped by the group does not.
func TestJobEndingOnItsOwnFails(t *testing.T) {
	j := &journal{}
	g := New(quiet, time.Minute)
	a := newProbe("a", j)
	g.Add("a", a)
	g.Add("sweeper", NewJob(func(context.Context) { j.add("sweeper returns") }))
	err := g.Run(context.Background())
	if err == nil || err.Error() != "sweeper: ended on its own" {
		t.Fatalf("Run: %v", err)
	}
	if got, want := j.all(), []string{"start a", "sweeper returns", "stop a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	g = New(quiet, time.Minute)
	running := make(chan struct{})
	g.Add("worker", NewJob(func(ctx context.Context) { close(running); <-ctx.Done() }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-running
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("a job stopped by the group: %v", err)
	}
}

// TestStopIsBounded: a component still running at the shutdown deadline
// is given up, and those before it are still stopped.
func TestStopIsBounded(t *testing.T) {
	j := &journal{}
	g := New(quiet, 10*time.Millisecond)
	g.Add("a", newProbe("a", j))
	g.Add("stuck", NewJob(func(context.Context) { select {} }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Started by hand: Run starts nothing once its context has ended.
	for _, p := range g.parts {
		if err := p.c.Start(ctx, g.failer(p.name)); err != nil {
			t.Fatal(err)
		}
		p.running = true
	}
	err := g.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v", err)
	}
	if got, want := j.all(), []string{"start a", "stop a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestServerPortTaken: a server whose port is taken fails its start; one
// that starts serves until stopped.
func TestServerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := New(quiet, time.Minute)
	g.Add("metrics", &Server{HTTP: &http.Server{Addr: ln.Addr().String()}})
	if err := g.Run(context.Background()); err == nil {
		t.Fatal("started on a taken port")
	}
	srv := &Server{HTTP: &http.Server{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}, Drain: true}
	if err := srv.Start(context.Background(), func(err error) { t.Errorf("failed: %v", err) }); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + srv.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + srv.Addr().String() + "/"); err == nil {
		t.Fatal("still serving after Stop")
	}
}
