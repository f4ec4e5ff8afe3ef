package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"realname/testdata/idcard"
)

// step is one request of a simulated user's verification.
type step int

// The four requests of one verification, in order, then the face step's
// (bench flow -face): its start, the phone (the sandbox's control, not
// timed: it is no request of the service) and its result.
const (
	stepLogin step = iota
	stepFront
	stepBack
	stepSubmit
	stepFaceStart
	stepFacePhone
	stepFaceResult
	nSteps
)

var stepNames = [nSteps]string{"login", "upload_front", "upload_back", "submit", "face_start", "face_phone", "face_result"}

// cardRequests are one sample card's request bodies, built once so the
// load generator spends its CPU on sending, not on encoding.
type cardRequests struct {
	key             string
	check           string // what the name/ID check fakes say of it: match, mismatch, no_record
	front, back     []byte
	frontCT, backCT string // multipart content types, with the boundary
	submit          []byte
}

// prepareCards builds the requests of every sample card.
func prepareCards() ([]cardRequests, error) {
	cards, err := idcard.Cards()
	if err != nil {
		return nil, err
	}
	out := make([]cardRequests, 0, len(cards))
	for _, c := range cards {
		r := cardRequests{key: c.Key, check: c.Check}
		// consent_version goes with both sides: a user whose front upload
		// failed halfway starts over with the back on a new account.
		if r.front, r.frontCT, err = multipartImage(c.Front, "front"); err != nil {
			return nil, err
		}
		if r.back, r.backCT, err = multipartImage(c.Back, "back"); err != nil {
			return nil, err
		}
		// Users confirm what OCR read, as the Mini Program does: nothing typed.
		if r.submit, err = json.Marshal(map[string]string{}); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func multipartImage(name, side string) ([]byte, string, error) {
	img, err := idcard.Image(name)
	if err != nil {
		return nil, "", err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("consent_version", "v1")
	_ = mw.WriteField("side", side)
	fw, err := mw.CreateFormFile("image", name)
	if err != nil {
		return nil, "", err
	}
	_, _ = fw.Write(img)
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return body.Bytes(), mw.FormDataContentType(), nil
}

// loadConfig is one load run.
type loadConfig struct {
	targets  []string // base URLs; requests go round robin
	users    int
	count    int           // verifications to start; 0 runs for duration
	duration time.Duration // used when count is 0
	think    time.Duration // a user's pause between two verifications
	ramp     time.Duration // users start spread over this
	runID    string        // makes login codes unique to the run
	// errPause is a user's pause after a failed request, so a service
	// that is down is not hammered by users spinning on instant errors.
	errPause time.Duration
	// face is the face step users take on face_pending (off: never).
	face faceFlow
}

// reqTimeout bounds one request, as the Mini Program's wx.request would.
const reqTimeout = 60 * time.Second

// flowTally is what users saw; each user keeps its own and they are merged at
// the end, so users contend with the service, not with each other.
type flowTally struct {
	started, completed int
	lat                [nSteps][]time.Duration // successful requests
	flow               []time.Duration         // login to decision
	errors             map[string]int          // "step status code" → count
	firstBody          map[string]string       // an example answer per error
	outcomes           map[string]int          // state the submit answered
	decided            map[int64]string        // verification id → state the flow ended in
	face               faceTally
}

func newFlowTally() *flowTally {
	return &flowTally{errors: map[string]int{}, firstBody: map[string]string{}, outcomes: map[string]int{}, decided: map[int64]string{},
		face: newFaceTally()}
}

func (t *flowTally) add(o *flowTally) {
	t.started += o.started
	t.completed += o.completed
	for i := range t.lat {
		t.lat[i] = append(t.lat[i], o.lat[i]...)
	}
	t.flow = append(t.flow, o.flow...)
	for k, n := range o.errors {
		t.errors[k] += n
		if _, ok := t.firstBody[k]; !ok {
			t.firstBody[k] = o.firstBody[k]
		}
	}
	for k, n := range o.outcomes {
		t.outcomes[k] += n
	}
	for k, v := range o.decided {
		t.decided[k] = v
	}
	t.face.add(&o.face)
}

// errorCount is the failed requests of the run.
func (t *flowTally) errorCount() int {
	n := 0
	for _, k := range t.errors {
		n += k
	}
	return n
}

// loadResult is a finished load run.
type loadResult struct {
	*flowTally
	wall time.Duration
	// ramp and rampDone are how long the users took to start and how many
	// verifications had completed by then.
	ramp     time.Duration
	rampDone int
}

// perSecond is the verifications completed per second once every user
// had started: the ramp is left out, or a short run would measure how
// fast the users were let in rather than how fast they were served.
func (r loadResult) perSecond() float64 {
	if r.wall <= r.ramp || r.wall-r.ramp < time.Second {
		if r.wall <= 0 {
			return 0
		}
		return float64(r.completed) / r.wall.Seconds()
	}
	return float64(r.completed-r.rampDone) / (r.wall - r.ramp).Seconds()
}

// load drives cfg.users simulated Mini Program users. Each verification
// is a new WeChat user: login with a fresh code, upload the front, the
// back, submit; the sample cards are used in turn.
type load struct {
	cfg     loadConfig
	cards   []cardRequests
	client  *http.Client
	flows   atomic.Int64 // verifications started, also the card and code counter
	rr      atomic.Int64 // request counter for the round robin
	stopAt  time.Time
	stopped atomic.Bool
	// Live counters, for the fault timeline to read while users run.
	failures atomic.Int64
	done     atomic.Int64
	lastDone atomic.Int64 // UnixNano when a verification last completed
}

func newLoad(cfg loadConfig, cards []cardRequests) *load {
	return &load{cfg: cfg, cards: cards}
}

// runLoad runs a load to its end; see run.
func runLoad(ctx context.Context, cfg loadConfig, cards []cardRequests) loadResult {
	return newLoad(cfg, cards).run(ctx)
}

// run lets the users go until cfg.count verifications have been started
// and finished, or cfg.duration has passed, or stop is called, or ctx
// ends; a verification under way is finished first.
func (l *load) run(ctx context.Context) loadResult {
	cfg := l.cfg
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.users, // a connection per user, kept, as phones behind a gateway would
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	l.client = &http.Client{Transport: tr}
	start := time.Now()
	l.stopAt = start.Add(cfg.ramp + cfg.duration)
	var (
		mu       sync.Mutex
		total    = newFlowTally()
		wg       sync.WaitGroup
		rampDone atomic.Int64
	)
	rampTimer := time.AfterFunc(cfg.ramp, func() { rampDone.Store(l.done.Load()) })
	defer rampTimer.Stop()
	for i := range cfg.users {
		wg.Go(func() {
			own := newFlowTally()
			if cfg.users > 1 && cfg.ramp > 0 {
				sleepCtx(ctx, time.Duration(i)*cfg.ramp/time.Duration(cfg.users))
			}
			for l.next(ctx) {
				l.verification(ctx, own)
				sleepCtx(ctx, cfg.think)
			}
			mu.Lock()
			total.add(own)
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if wall <= cfg.ramp {
		return loadResult{flowTally: total, wall: wall}
	}
	return loadResult{flowTally: total, wall: wall, ramp: cfg.ramp, rampDone: int(rampDone.Load())}
}

// next reports whether the user should start another verification.
func (l *load) next(ctx context.Context) bool {
	if ctx.Err() != nil || l.stopped.Load() {
		return false
	}
	if l.cfg.count > 0 {
		return true // the ticket is taken in verification
	}
	return time.Now().Before(l.stopAt)
}

// stop makes every user finish their current verification and quit.
func (l *load) stop() { l.stopped.Store(true) }

// answer is the part of the service's JSON answers the users read.
type answer struct {
	Token  string `json:"token"`
	ID     int64  `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	Face   *struct {
		VerifyID string `json:"verify_id"`
	} `json:"face"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// verification runs one user's four requests; a failed request ends it,
// as a real user would leave or start over.
func (l *load) verification(ctx context.Context, t *flowTally) {
	n := l.flows.Add(1) - 1
	if l.cfg.count > 0 && n >= int64(l.cfg.count) {
		l.stop()
		return
	}
	t.started++
	card := l.cards[n%int64(len(l.cards))]
	start := time.Now()
	login := fmt.Appendf(nil, `{"code":"b%s-%d:1"}`, l.cfg.runID, n)
	a, ok := l.call(ctx, t, stepLogin, "/api/v1/session", "", "application/json", login)
	if !ok {
		return
	}
	token := a.Token
	if _, ok := l.call(ctx, t, stepFront, "/api/v1/verification/idcard", token, card.frontCT, card.front); !ok {
		return
	}
	if _, ok := l.call(ctx, t, stepBack, "/api/v1/verification/idcard", token, card.backCT, card.back); !ok {
		return
	}
	a, ok = l.call(ctx, t, stepSubmit, "/api/v1/verification/submit", token, "application/json", card.submit)
	if !ok {
		return
	}
	sub, lastRet := a, 0
	if l.cfg.face.on() && a.State == "face_pending" {
		if a, lastRet, ok = l.faceStep(ctx, t, n, card, token); !ok {
			return
		}
	}
	t.face.record(sub, a, lastRet)
	t.completed++
	t.flow = append(t.flow, time.Since(start))
	l.done.Add(1)
	l.lastDone.Store(time.Now().UnixNano())
	t.outcomes[a.State]++
	if a.ID != 0 {
		t.decided[a.ID] = a.State
	}
}

// call sends one request to the next instance in turn and records it.
func (l *load) call(ctx context.Context, t *flowTally, s step, path, token, contentType string, body []byte) (answer, bool) {
	target := l.cfg.targets[int(l.rr.Add(1)-1)%len(l.cfg.targets)]
	return l.send(ctx, t, s, target+path, token, contentType, body)
}

// fail records a request that answered 2xx but not what the flow needs.
func (l *load) fail(t *flowTally, s step, code, example string) {
	l.failures.Add(1)
	key := stepNames[s] + " " + code
	t.errors[key]++
	if _, ok := t.firstBody[key]; !ok {
		t.firstBody[key] = example
	}
}

// send POSTs body to url and records it; steps that are no request of
// the service (the phone) count their failures but not their latency.
func (l *load) send(ctx context.Context, t *flowTally, s step, url, token, contentType string, body []byte) (answer, bool) {
	rctx, cancel := context.WithTimeout(ctx, reqTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic(err) // a bench bug: every URL is built from parsed parts
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	began := time.Now()
	resp, err := l.client.Do(req)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	took := time.Since(began)
	if ctx.Err() != nil {
		return answer{}, false // interrupted: neither a success nor the service's fault
	}
	if err != nil {
		l.failures.Add(1)
		key := stepNames[s] + " " + transportClass(err)
		t.errors[key]++
		if _, ok := t.firstBody[key]; !ok {
			t.firstBody[key] = err.Error()
		}
		sleepCtx(ctx, l.cfg.errPause)
		return answer{}, false
	}
	var a answer
	_ = json.Unmarshal(raw, &a)
	if resp.StatusCode/100 != 2 {
		l.failures.Add(1)
		key := fmt.Sprintf("%s %d %s", stepNames[s], resp.StatusCode, a.Error.Code)
		t.errors[key]++
		if _, ok := t.firstBody[key]; !ok {
			t.firstBody[key] = string(raw[:min(len(raw), 400)])
		}
		sleepCtx(ctx, l.cfg.errPause)
		return a, false
	}
	if s != stepFacePhone {
		t.lat[s] = append(t.lat[s], took)
	}
	return a, true
}

// transportClass names a failed round trip for the error table.
func transportClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection_reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "transport_error"
}

// sleepCtx pauses for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
