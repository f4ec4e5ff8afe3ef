package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"realname/model"
	"realname/sandbox"
)

// flowConfig is the flags of `bench flow`.
type flowConfig struct {
	repo      string
	instances int
	users     int
	count     int
	duration  time.Duration
	latency   time.Duration
	think     time.Duration
	ramp      time.Duration
	db, redis string
	bare      bool
	fakeCache bool
	profile   string // file for a CPU profile of instance 0
	ocrOrder  string // REALNAME_OCR_ORDER of the instances; "" is the service's default
	face      faceFlow
	// checkFault makes the name/ID check vendor (Acedata) fail the whole
	// run with this sandbox mode; "" leaves it working.
	checkFault string
}

func parseFlowFlags(args []string, stderr io.Writer) (flowConfig, error) {
	var c flowConfig
	fs := newFlagSet("flow", stderr,
		"Builds the service, starts -instances of it sharing one database, one Redis and one set",
		"of upstream fakes, and has -users simulated users verify themselves (login, front,",
		"back, submit) round robin across the instances; then the same load against a bare gin",
		"handler. Fails when a request fails, an instance panics or nothing was verified.",
	)
	fs.StringVar(&c.repo, "repo", "", "repository root to build the service from (default: found from the working directory)")
	fs.IntVar(&c.instances, "instances", 3, "service instances, each a child process")
	fs.IntVar(&c.users, "users", 200, "concurrent simulated Mini Program users")
	fs.IntVar(&c.count, "verifications", 0, "verifications to run; 0 runs for -duration")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to run when -verifications is 0")
	fs.DurationVar(&c.latency, "latency", 0, "delay of every upstream answer (WeChat and the vendors), e.g. 200ms")
	fs.DurationVar(&c.think, "think", 0, "each user's pause between two verifications")
	fs.DurationVar(&c.ramp, "ramp", time.Second, "users start spread over this, not all in the same millisecond")
	fs.StringVar(&c.db, "db", "", "PostgreSQL DSN used as is; default: a fresh database on "+localPostgres+", dropped at the end; \"private\": a PostgreSQL of the bench's own (initdb, max_connections=300, pg_stat_statements); \"mysql\": a fresh database on "+localMySQL+", dropped at the end; \"sqlite\" with -instances 1")
	fs.StringVar(&c.redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL the instances share (keys get a prefix unique to the run, deleted at the end)")
	fs.BoolVar(&c.bare, "bare", true, "also run the load against a bare gin handler and report the ratio")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of instance 0, up to 10 s taken after the first quarter of the run, to this file (go tool pprof -top FILE)")
	fs.StringVar(&c.ocrOrder, "ocr-order", "", "REALNAME_OCR_ORDER of the instances, e.g. acedata,wechat,apizero,apistore (default: the service's wechat,apizero,apistore,acedata)")
	var faceMode, faceMix string
	var byCard bool
	fs.StringVar(&faceMode, "face", faceOff, "REALNAME_FACE of the instances: off, required (a face check instead of the paid name/ID check) or fallback (a face check where the check would send the case to staff); users on face_pending take the face step")
	fs.StringVar(&faceMix, "face-mix", defaultFaceMix, "what users' phones do with each verify_id, as shares of pass, cancel (retried once with a new verify_id), other (another face), mismatch, norecord")
	fs.BoolVar(&byCard, "face-by-card", false, "leave a pass to the WeChat fake's by-card mode, whose authority lacks the records the check fakes lack (the no-record card gets 10026); default: a holder's pass is 10000 except on the mismatch card")
	fs.StringVar(&c.checkFault, "check-fault", "", "make the name/ID check vendor (Acedata) fail for the whole run: error, quota or timeout (bench faults-style, through the sandbox's faults)")
	fs.BoolVar(&c.fakeCache, "fake-cache", true, "reuse the fakes' OCR answer per sample image instead of decoding every photo again in the bench process (calls are still counted and delayed)")
	if err := parseArgs(fs, args); err != nil {
		return c, err
	}
	var err error
	if c.face, err = parseFaceFlags(faceMode, faceMix, byCard); err != nil {
		return c, err
	}
	switch c.checkFault {
	case "", sandbox.ModeError, sandbox.ModeQuota, sandbox.ModeTimeout:
	default:
		return c, errors.New("-check-fault must be error, quota or timeout")
	}
	switch {
	case c.instances < 1 || c.users < 1 || c.count < 0 || c.duration <= 0:
		return c, errors.New("-instances, -users and -duration must be positive, -verifications not negative")
	case c.latency < 0 || (c.latency > 0 && c.latency < time.Millisecond):
		return c, errors.New("-latency is whole milliseconds, the sandbox's unit")
	case c.think < 0 || c.ramp < 0:
		return c, errors.New("-think and -ramp must not be negative")
	}
	return c, nil
}

// runFlow is `bench flow`.
func runFlow(parent context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlowFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench flow:", err)
		return errUsage
	}
	// The build, two load runs and the teardown; a count-bound run gets
	// half an hour, which 2,000 users at 200 ms need far less than.
	budget := 30 * time.Minute
	if cfg.count == 0 {
		budget = 2*(cfg.duration+cfg.ramp) + 10*time.Minute
	}
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()

	cards, err := prepareCards()
	if err != nil {
		return err
	}
	st, err := newStack(ctx, cfg.repo)
	if err != nil {
		return err
	}
	defer st.close()
	env := map[string]string{}
	if cfg.ocrOrder != "" {
		env["REALNAME_OCR_ORDER"] = cfg.ocrOrder
	}
	if cfg.face.on() {
		env["REALNAME_FACE"] = cfg.face.mode
	}
	if err := st.start(ctx, stackConfig{instances: cfg.instances, db: cfg.db, redis: cfg.redis, latency: cfg.latency, fakeCache: cfg.fakeCache,
		pprof: cfg.profile != "", env: env}); err != nil {
		st.keep = true
		return err
	}
	cfg.face.sandbox = st.fakes.url
	if err := st.fakes.prepareFace(ctx, cfg.face, cfg.checkFault); err != nil {
		return err
	}
	mode := fmt.Sprintf("verifications=%d", cfg.count)
	if cfg.count == 0 {
		mode = fmt.Sprintf("duration=%v", cfg.duration)
	}
	fmt.Fprintf(stdout, "bench flow: instances=%d users=%d %s latency=%v think=%v db=%s redis=%s fake_cache=%v face=%s cpus=%d loadavg=%s\n",
		cfg.instances, cfg.users, mode, cfg.latency, cfg.think, st.dialect, cfg.redis, cfg.fakeCache, faceLabel(cfg), numCPU(), loadAvg())

	runID := randomSuffix()
	cfg.face.seed = seedOf(runID)
	load := loadConfig{targets: st.urls(), users: cfg.users, count: cfg.count, duration: cfg.duration,
		think: cfg.think, ramp: cfg.ramp, runID: runID, errPause: 100 * time.Millisecond, face: cfg.face}

	// One verification per instance first: a setup that cannot verify
	// anybody is reported as such, not as a run of errors; and the token
	// fetch and first connections stay out of the figures.
	warm := load
	warm.users, warm.count, warm.ramp, warm.runID = 1, cfg.instances, 0, runID+"w"
	if w := runLoad(ctx, warm, cards); w.errorCount() > 0 || w.completed == 0 {
		printErrors(stdout, "flow: warm-up", w.flowTally)
		st.keep = true
		return fmt.Errorf("the warm-up verification failed; instance logs: %s", st.logs())
	}

	before, cpuBefore, selfBefore := st.fakes.calls(), st.cpu(), selfCPU()
	busyBefore, totalBefore := machineCPU()
	pgBefore := st.pgCPU()
	stmtsBefore, commitsBefore, countsErr := st.dbCounts(ctx)
	st.resetStatements(ctx)
	statsBefore, statsErr := st.pgStats(ctx)
	var conns *connSampler
	if st.dialect == model.DialectPostgres {
		conns = sampleConnections(ctx, st.db)
	}
	profDone := make(chan error, 1)
	var profSecs int
	if cfg.profile != "" {
		run := cfg.duration
		if cfg.count > 0 {
			run = 20 * time.Second // a guess: count-bound runs rarely last less
		}
		var delay time.Duration
		delay, profSecs = profileWindow(run)
		go func() { profDone <- cpuProfile(ctx, st.children[0].pprof, delay, profSecs, cfg.profile) }()
	}
	svc := runLoad(ctx, load, cards)
	if cfg.profile != "" {
		if err := <-profDone; err != nil {
			fmt.Fprintf(stdout, "flow: service cpu_profile error: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "flow: service cpu_profile=%s instance=0 seconds=%d (go tool pprof -top %s)\n", cfg.profile, profSecs, cfg.profile)
		}
	}
	calls, cpu, self := st.fakes.calls().sub(before), st.cpu()-cpuBefore, selfCPU()-selfBefore
	stmtsAfter, commitsAfter, err := st.dbCounts(ctx)
	countsErr = errors.Join(countsErr, err)
	busyAfter, totalAfter := machineCPU()
	pgCPU := st.pgCPU() - pgBefore
	machineBusy := 0.0
	if totalAfter > totalBefore {
		machineBusy = 100 * float64(busyAfter-busyBefore) / float64(totalAfter-totalBefore)
	}
	var (
		peakConns int64
		dbWaits   string
	)
	if conns != nil {
		peakConns, dbWaits = conns.result()
	}
	loadAfter, rss := loadAvg(), st.peakRSS()
	top, topErr := st.topStatements(ctx, 10)
	states, serr := st.states(ctx)
	panics, firstPanic := st.panics()
	died := 0
	for _, in := range st.children {
		if in.exited() {
			died++
		}
	}
	// The bare run gets the CPU to itself, as the service had.
	st.stopInstances()
	statsAfter, err := st.pgStats(ctx)
	statsErr = errors.Join(statsErr, err)

	p := "flow: service"
	fmt.Fprintf(stdout, "%s verifications=%d started=%d wall_s=%.1f verifications_per_s=%.1f\n",
		p, svc.completed, svc.started, svc.wall.Seconds(), svc.perSecond())
	worst := printSteps(stdout, p, svc, cfg.latency)
	printErrors(stdout, p, svc.flowTally)
	for _, c := range st.failureCauses(8) {
		fmt.Fprintf(stdout, "%s   logged cause: %s\n", p, c)
	}
	fmt.Fprintf(stdout, "%s outcomes %s\n", p, counts(svc.outcomes))
	printFace(stdout, p, cfg.face, svc.face)
	if serr != nil {
		fmt.Fprintf(stdout, "%s db_states error: %v\n", p, serr)
	} else {
		fmt.Fprintf(stdout, "%s db_states %s\n", p, counts(states))
	}
	if cfg.face.on() || cfg.checkFault != "" {
		if modes, err := st.verifiedModes(ctx); err != nil {
			fmt.Fprintf(stdout, "%s db_verified_by_mode error: %v\n", p, err)
		} else {
			fmt.Fprintf(stdout, "%s db_verified_by_mode %s\n", p, counts(modes))
		}
	}
	perV := func(n int) float64 {
		if svc.completed == 0 {
			return 0
		}
		return float64(n) / float64(svc.completed)
	}
	fmt.Fprintf(stdout, "%s cpu_s_per_verification=%.4f instances_cpu_s=%.1f bench_cpu_s=%.1f (load generator and fakes) machine_cpu_busy=%.0f%% peak_rss_mb=%s\n",
		p, perV(1)*cpu.Seconds(), cpu.Seconds(), self.Seconds(), machineBusy, mbList(rss))
	if st.pg != nil {
		fmt.Fprintf(stdout, "%s postgres_cpu_s=%.1f postgres_cpu_s_per_verification=%.4f\n", p, pgCPU.Seconds(), perV(1)*pgCPU.Seconds())
	}
	if topErr == nil {
		for _, t := range top {
			fmt.Fprintf(stdout, "%s   statement calls_per_verification=%.1f mean_ms=%.3f total_s=%.1f rows_per_call=%.1f blocks_per_call=%.0f  %s\n", p,
				perV(int(t.Calls)), t.TotalMS/float64(max(1, t.Calls)), t.TotalMS/1000, float64(t.Rows)/float64(max(1, t.Calls)),
				float64(t.SharedHit)/float64(max(1, t.Calls)), oneLine(t.Query))
		}
	}
	if conns != nil {
		fmt.Fprintf(stdout, "%s pg_connections_peak=%d backends_by_state(avg) %s\n", p, peakConns, dbWaits)
	}
	fmt.Fprintf(stdout, "%s upstream_calls_per_verification token=%.3f login=%.2f ocr=%.2f check=%.2f paid=%.2f face_start=%.2f face_query=%.2f new_connections=%.2f\n",
		p, perV(calls.token), perV(calls.login), perV(calls.ocr), perV(calls.check), perV(calls.paid()), perV(calls.faceStart), perV(calls.faceQuery), perV(calls.conns))
	if statsErr == nil && statsAfter.Statements >= 0 && statsBefore.Statements >= 0 {
		fmt.Fprintf(stdout, "%s db_server_statements_per_verification=%.1f (the server's count, BEGIN and COMMIT included where it counts them)\n",
			p, perV(int(statsAfter.Statements-statsBefore.Statements)))
	}
	if statsErr == nil && st.dialect == model.DialectPostgres {
		fmt.Fprintf(stdout, "%s db_server_per_verification commits=%.1f rows_inserted=%.1f rows_updated=%.1f rows_fetched=%.1f new_connections=%.2f\n", p,
			perV(int(statsAfter.Commits-statsBefore.Commits)), perV(int(statsAfter.Inserted-statsBefore.Inserted)),
			perV(int(statsAfter.Updated-statsBefore.Updated)), perV(int(statsAfter.Fetched-statsBefore.Fetched)),
			perV(int(statsAfter.Sessions-statsBefore.Sessions)))
	}
	fmt.Fprintf(stdout, "%s panics=%d instances_exited=%d loadavg_after=%s\n", p, panics, died, loadAfter)
	if firstPanic != "" {
		fmt.Fprintf(stdout, "%s first panic line: %s\n", p, firstPanic)
	}

	ratio := 0.0
	if cfg.bare && ctx.Err() == nil {
		b, err := startBare(cfg.latency)
		if err != nil {
			return err
		}
		// For as long as the service run took (5 to 30 s): a rate is
		// compared, and 300 bare verifications take a second or less.
		bare := load
		bare.targets, bare.runID, bare.count = []string{b.url}, runID+"b", 0
		bare.face = faceFlow{mode: faceOff} // the bare handler has no face step
		bare.duration = min(max(svc.wall-cfg.ramp, 5*time.Second), 30*time.Second)
		br := runLoad(ctx, bare, cards)
		b.close()
		bp := "flow: bare"
		fmt.Fprintf(stdout, "%s verifications=%d wall_s=%.1f verifications_per_s=%.1f\n", bp, br.completed, br.wall.Seconds(), br.perSecond())
		printSteps(stdout, bp, br, cfg.latency)
		printErrors(stdout, bp, br.flowTally)
		if br.perSecond() > 0 {
			ratio = svc.perSecond() / br.perSecond()
		}
	}
	printTargets(stdout, cfg, svc, worst, ratio)
	printFaceTargets(stdout, cfg.face, svc, calls)

	failed := svc.errorCount() > 0 || svc.completed == 0 || panics > 0 || died > 0
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "flow: INCOMPLETE: interrupted or out of time; the numbers cover only part of the run")
		failed = true
	case failed:
		st.keep = true
		fmt.Fprintf(stdout, "flow: FAILED: want errors=0, panics=0, every instance up and verifications > 0; logs: %s\n", st.logs())
	}
	// The summary line goes last: scripts read it. Statements and commits
	// are what the instances counted themselves (realname_db_*_total), the
	// same measure on every backend; -1 when /metrics could not be read.
	stmts, commits := -1.0, -1.0
	if countsErr == nil {
		stmts, commits = perV(int(stmtsAfter-stmtsBefore)), perV(int(commitsAfter-commitsBefore))
	} else {
		fmt.Fprintf(stdout, "%s db counts from /metrics: %v\n", p, countsErr)
	}
	order := cfg.ocrOrder
	if order == "" {
		order = "default"
	}
	perVerified := func(n int) float64 {
		if v := svc.outcomes["verified"]; v > 0 {
			return float64(n) / float64(v)
		}
		return -1
	}
	// paid_calls_per_verified stays last, where scripts read it.
	fmt.Fprintf(stdout, "flow: db=%s instances=%d users=%d verifications_per_s=%.1f p99_ms=%s errors=%d statements_per_verification=%.1f commits_per_verification=%.1f service_cpu_ms_per_verification=%.2f paid_calls_per_verification=%.2f ocr_order=%s ratio_vs_bare=%.3f face=%s face_checks_per_verification=%.2f check_calls_per_verified=%.2f paid_calls_per_verified=%.2f\n",
		dbLabel(st.dialect), cfg.instances, cfg.users, svc.perSecond(), ms(worst), svc.errorCount(), stmts, commits,
		1000*perV(1)*cpu.Seconds(), perV(calls.paid()), order, ratio, cfg.face.mode, perV(calls.faceStart), perVerified(calls.check), perVerified(calls.paid()))
	if failed {
		return errFailed
	}
	return nil
}

// dbLabel names the backend in the summary line.
func dbLabel(dialect string) string {
	if dialect == model.DialectMySQL {
		return "mysql"
	}
	return dialect
}

// printTargets says whether the run meets the targets. They are
// reported, not enforced: a busy or smaller machine misses them without
// the service being wrong.
func printTargets(w io.Writer, cfg flowConfig, r loadResult, worstP99 time.Duration, ratio float64) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	if cfg.latency == 0 && cfg.bare {
		fmt.Fprintf(w, "flow: target throughput >= 0.5 x bare: ratio=%.3f %s\n", ratio, verdict(ratio >= 0.5))
	}
	if cfg.latency > 0 {
		overhead := worstP99 - cfg.latency
		fmt.Fprintf(w, "flow: target users in flight without errors, p99 overhead over upstream latency < 50ms: users=%d errors=%d p99_overhead_ms=%s %s\n",
			cfg.users, r.errorCount(), ms(overhead), verdict(r.errorCount() == 0 && overhead < 50*time.Millisecond))
	}
}

// numCPU is how many CPUs the machine has, for the reader of the figures.
func numCPU() int { return runtime.NumCPU() }

// selfCPU is the bench process's own CPU time so far.
func selfCPU() time.Duration {
	d, _ := procCPU(os.Getpid())
	return d
}

// mbList renders byte counts as a comma-separated list of MiB.
func mbList(b []int64) string {
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%.0f", float64(v)/(1<<20))
	}
	return strings.Join(parts, ",")
}
