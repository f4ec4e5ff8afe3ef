package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"realname/model"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/pii"
)

// Special -db values: SQLite in the instance's data directory, and a
// PostgreSQL server of the bench's own (see pgCluster), which allows 300
// connections where the machine's shared one allows 100.
const (
	dbSQLite  = "sqlite"
	dbPrivate = "private"
	dbMySQL   = "mysql" // a fresh database on the machine's MariaDB/MySQL, dropped at the end
)

// stackConfig says how to run the service for a scenario.
type stackConfig struct {
	instances int
	// db is a DSN used as it is; empty means a fresh database on the
	// machine's PostgreSQL, dropped at the end; dbPrivate, the bench's own
	// PostgreSQL; dbSQLite, one instance on SQLite.
	db string
	// redis is the URL every instance shares, with a key prefix unique to
	// the run.
	redis   string
	latency time.Duration
	// fakeCache reuses the fakes' OCR answers per image (see ocrCache).
	fakeCache bool
	// env adds or overrides REALNAME_* variables of every instance.
	env map[string]string
	// pprof has instance 0 serve Go's profiles (REALNAME_PPROF_ADDR).
	pprof bool
}

// instance is one running service process.
type instance struct {
	*child
	url   string
	pprof string // host:port of its profiling endpoint, if any
}

// stack is the service under test: the binary, the fakes, the stores and
// the instances, with what it takes to tear them down again.
type stack struct {
	tmp      string
	bin      string
	fakes    *fakes
	dbURL    string   // what the instances were given; "" is SQLite
	db       *gorm.DB // the bench's own connection, for checks after a run
	dialect  string
	pg       *pgCluster // the bench's own PostgreSQL, with -db private
	children []*instance
	cleanups []func() // run last first by close
	// keep leaves the temporary directory (logs, data) in place, for the
	// reader of a failed run.
	keep bool
}

// newStack builds the service from the repository at repoFlag (the -repo
// flag; empty: found from the working directory) into a fresh temporary
// directory.
func newStack(ctx context.Context, repoFlag string) (*stack, error) {
	repo, err := repoRoot(repoFlag)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "bench-flow-")
	if err != nil {
		return nil, err
	}
	s := &stack{tmp: tmp}
	s.cleanups = append(s.cleanups, func() {
		if s.keep {
			fmt.Fprintf(os.Stderr, "bench: logs and data kept in %s\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	})
	if s.bin, err = buildServer(ctx, repo, tmp); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// serveHelp is `realname serve --help`: it lists every variable the built
// binary accepts, which tells what is wired (webhooks) without guessing
// from the source tree.
func (s *stack) serveHelp(ctx context.Context) string {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(hctx, s.bin, "serve", "--help")
	cmd.Env = childEnv(nil)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// start serves the fakes, prepares the database and Redis, and starts the
// instances, returning once every one answers /readyz.
func (s *stack) start(ctx context.Context, cfg stackConfig) error {
	var err error
	if s.fakes, err = startFakes(cfg.latency, cfg.fakeCache); err != nil {
		return err
	}
	s.cleanups = append(s.cleanups, s.fakes.close)

	switch cfg.db {
	case dbSQLite:
		if cfg.instances != 1 {
			return errors.New("SQLite serves one instance only: use -instances 1 or a PostgreSQL -db")
		}
	case dbPrivate:
		pg, err := startPGCluster(ctx)
		if err != nil {
			return err
		}
		s.cleanups = append(s.cleanups, pg.close)
		if err := pgExec(ctx, pg.dsn("postgres"), "CREATE DATABASE bench"); err != nil {
			return err
		}
		if err := pgExec(ctx, pg.dsn("bench"), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
			return err
		}
		s.dbURL, s.pg = pg.dsn("bench"), pg
	case dbMySQL:
		dsn, drop, err := freshMySQLDatabase(ctx, localMySQL)
		if err != nil {
			return err
		}
		s.dbURL = dsn
		s.cleanups = append(s.cleanups, drop)
	case "":
		dsn, drop, err := freshDatabase(ctx, localPostgres)
		if err != nil {
			return err
		}
		s.dbURL = dsn
		s.cleanups = append(s.cleanups, drop)
	default:
		s.dbURL = cfg.db
	}

	conn, err := openBenchRedis(ctx, cfg.redis)
	if err != nil {
		return fmt.Errorf("redis %s: %w", cfg.redis, err)
	}
	s.cleanups = append(s.cleanups, func() { cleanupRedis(conn) })

	key, err := pii.GenerateKeySpec()
	if err != nil {
		return err
	}
	shared := map[string]string{
		"REALNAME_DATABASE_URL":            s.dbURL,
		"REALNAME_REDIS_URL":               cfg.redis,
		"REALNAME_REDIS_PREFIX":            conn.Prefix,
		"REALNAME_MASTER_KEY":              key, // one key: any instance decrypts what another sealed
		"REALNAME_LOG_LEVEL":               "warn",
		"REALNAME_WECHAT_APPID":            sandbox.SandboxAppID,
		"REALNAME_WECHAT_SECRET":           sandbox.SandboxAppSecret,
		"REALNAME_WECHAT_API_BASE":         s.fakes.url,
		"REALNAME_APIZERO_KEY":             sandbox.SandboxApizeroKey,
		"REALNAME_APIZERO_BASE_URL":        s.fakes.url + sandbox.ApizeroPrefix,
		"REALNAME_APISTORE_APPID":          sandbox.SandboxApistoreAppID,
		"REALNAME_APISTORE_SECRET":         sandbox.SandboxApistoreSecret,
		"REALNAME_APISTORE_URL":            s.fakes.url + sandbox.ApistoreEndpoint,
		"REALNAME_ACEDATA_KEY":             sandbox.SandboxAcedataKey,
		"REALNAME_ACEDATA_BASE_URL":        s.fakes.url + "/acedata",
		"REALNAME_IDCHECK_CACHE_TTL":       "0s", // every check is paid, so the count is honest
		"REALNAME_POLICY_ACCOUNTS_PER_ID":  "100",
		"REALNAME_POLICY_ATTEMPTS_PER_DAY": "1000000",
		"REALNAME_POLICY_UPLOADS_PER_DAY":  "1000000",
		// Thousands of simulated users share nine sample cards.
		"REALNAME_POLICY_CHECKS_PER_ID_PER_DAY":   "0",
		"REALNAME_POLICY_IDS_PER_ACCOUNT_PER_DAY": "0",
		"REALNAME_SHUTDOWN_TIMEOUT":               "5s",
	}
	for k, v := range cfg.env {
		shared[k] = v
	}
	for i := range cfg.instances {
		if err := s.startInstance(i, shared, cfg.pprof && i == 0); err != nil {
			return err
		}
	}
	// Stopped before the database is dropped and the keys deleted.
	s.cleanups = append(s.cleanups, s.stopInstances)
	for _, in := range s.children {
		if err := in.waitHTTP(ctx, in.url+"/readyz", 90*time.Second); err != nil {
			return err
		}
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dataDir := filepath.Join(s.tmp, "instance-0")
	if s.db, err = model.Open(ctx, s.dbURL, dataDir, quiet, clock.System{}.Now); err != nil {
		return err
	}
	s.dialect = s.db.Name()
	// Registered last, so it closes first: before the database is dropped.
	s.cleanups = append(s.cleanups, func() { _ = model.Close(s.db) })
	return nil
}

// startInstance starts instance i with its own port, data directory and log.
func (s *stack) startInstance(i int, shared map[string]string, pprof bool) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	var pprofAddr string
	if pprof {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
	}
	dataDir := filepath.Join(s.tmp, fmt.Sprintf("instance-%d", i))
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	env := map[string]string{"REALNAME_HTTP_ADDR": addr, "REALNAME_DATA_DIR": dataDir}
	for k, v := range shared {
		env[k] = v
	}
	if pprofAddr != "" {
		env["REALNAME_PPROF_ADDR"] = pprofAddr
	}
	name := fmt.Sprintf("instance-%d", i)
	c, err := startChild(name, s.bin, []string{"serve"}, childEnv(env), filepath.Join(s.tmp, name+".log"), nil)
	if err != nil {
		return err
	}
	s.children = append(s.children, &instance{child: c, url: "http://" + addr, pprof: pprofAddr})
	return nil
}

// stopInstances stops every instance gracefully, in parallel.
func (s *stack) stopInstances() {
	done := make(chan struct{})
	for _, in := range s.children {
		go func() { in.stop(10 * time.Second); done <- struct{}{} }()
	}
	for range s.children {
		<-done
	}
}

// urls are the instances' base URLs, for the load's round robin.
func (s *stack) urls() []string {
	out := make([]string, len(s.children))
	for i, in := range s.children {
		out[i] = in.url
	}
	return out
}

// cpu is the CPU time all instances have used so far.
func (s *stack) cpu() time.Duration {
	var total time.Duration
	for _, in := range s.children {
		if d, err := procCPU(in.pid()); err == nil {
			total += d
		}
	}
	return total
}

// pgCPU is the CPU time the bench's own PostgreSQL has used, or 0 when
// the database is not the bench's own (the shared server's processes
// serve others too).
func (s *stack) pgCPU() time.Duration {
	if s.pg == nil || s.pg.proc == nil || s.pg.proc.exited() {
		return 0
	}
	return procTreeCPU(s.pg.proc.pid())
}

// resetStatements empties pg_stat_statements (bench's own PostgreSQL).
func (s *stack) resetStatements(ctx context.Context) {
	if s.pg != nil {
		_ = s.db.WithContext(ctx).Exec("SELECT pg_stat_statements_reset()").Error
	}
}

// statement is one line of pg_stat_statements.
type statement struct {
	Calls     int64
	TotalMS   float64
	Rows      int64
	Query     string
	SharedHit int64
}

// topStatements are the statements that took the most time since the
// reset, on the bench's own PostgreSQL.
func (s *stack) topStatements(ctx context.Context, n int) ([]statement, error) {
	if s.pg == nil {
		return nil, nil
	}
	var out []statement
	err := s.db.WithContext(ctx).Raw(`SELECT calls, total_exec_time AS total_ms, rows, shared_blks_hit AS shared_hit, query
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT ?`, n).Scan(&out).Error
	return out, err
}

// peakRSS is each instance's peak resident set size, read while they run.
func (s *stack) peakRSS() []int64 {
	out := make([]int64, len(s.children))
	for i, in := range s.children {
		out[i], _ = procPeakRSS(in.pid())
	}
	return out
}

// panics sums the panic lines in the instances' logs.
func (s *stack) panics() (n int, first string) {
	for _, in := range s.children {
		k, f := in.panics()
		if first == "" {
			first = f
		}
		n += k
	}
	return n, first
}

// states counts the verifications table by state.
func (s *stack) states(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.db.WithContext(qctx).Model(&model.Verification{}).Select("state, count(*) AS n").Group("state").Scan(&rows).Error
	out := map[string]int64{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, err
}

// dbStats is the database's activity counters (PostgreSQL only).
type dbStats struct {
	Commits, Inserted, Updated, Fetched int64
	Sessions                            int64 // connections opened (PostgreSQL 14+)
	// Statements is what the server counted as executed: PostgreSQL's
	// pg_stat_statements calls (with -db private, which loads it), MySQL's
	// Com_select+insert+update+delete; -1 where the server cannot say.
	Statements int64
}

// pgStats reads the database's own counters. PostgreSQL publishes a
// backend's pg_stat_database counters at its transaction ends, at most
// once a second, and when it exits: read after the instances stopped, the
// figures are complete. On MySQL/MariaDB only the statements are read, from
// the server's global status (the bench's database is the only busy one
// here).
func (s *stack) pgStats(ctx context.Context) (dbStats, error) {
	st := dbStats{Statements: -1}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch s.dialect {
	case model.DialectPostgres:
		err := s.db.WithContext(qctx).Raw(`SELECT xact_commit AS commits, tup_inserted AS inserted, tup_updated AS updated,
			tup_fetched AS fetched, sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&st).Error
		if err != nil {
			return st, err
		}
		st.Statements = -1
		if s.pg != nil {
			var calls int64
			if err := s.db.WithContext(qctx).Raw(`SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements
				WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'`).Scan(&calls).Error; err == nil {
				st.Statements = calls
			}
		}
		return st, nil
	case model.DialectMySQL:
		var rows []struct {
			VariableName string `gorm:"column:Variable_name"`
			Value        int64  `gorm:"column:Value"`
		}
		if err := s.db.WithContext(qctx).Raw("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_select','Com_insert','Com_update','Com_delete')").Scan(&rows).Error; err != nil {
			return st, err
		}
		st.Statements = 0
		for _, r := range rows {
			st.Statements += r.Value
		}
		return st, nil
	}
	return st, errors.New("no server counters on " + s.dialect)
}

// failureCauses groups the instances' "request failed" log lines by
// route and the start of the error, digits blanked, most frequent first:
// the answers only say internal_error, the logs say why.
func (s *stack) failureCauses(limit int) []string {
	counts := map[string]int{}
	digits := regexp.MustCompile(`[0-9]+`)
	for _, in := range s.children {
		f, err := os.Open(in.logPath)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var line struct{ Msg, Route, Err string }
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "request failed" {
				continue
			}
			cause := digits.ReplaceAllString(line.Err, "N")
			if len(cause) > 90 {
				cause = cause[:90]
			}
			counts[line.Route+" "+cause]++
		}
		f.Close()
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int { return counts[b] - counts[a] })
	var out []string
	for _, k := range keys[:min(len(keys), limit)] {
		out = append(out, fmt.Sprintf("%6d  %s", counts[k], k))
	}
	return out
}

// logs lists where the instances' logs are, for the reader of a failure.
func (s *stack) logs() string {
	var names []string
	for _, in := range s.children {
		names = append(names, in.logPath)
	}
	return strings.Join(names, " ")
}

// close tears down whatever was started, last first.
func (s *stack) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	s.cleanups = nil
}

// dbCounts sums the instances' realname_db_statements_total and
// realname_db_commits_total: what the service itself sent and committed,
// counted the same way on every backend (model.StatementCounts).
func (s *stack) dbCounts(ctx context.Context) (statements, commits float64, err error) {
	for _, in := range s.children {
		st, cm, e := scrapeDBCounts(ctx, in.url+"/metrics")
		if e != nil {
			return 0, 0, e
		}
		statements += st
		commits += cm
	}
	return statements, commits, nil
}

func scrapeDBCounts(ctx context.Context, url string) (statements, commits float64, err error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, perr := strconv.ParseFloat(strings.TrimSpace(value), 64)
		switch {
		case perr != nil:
		case name == "realname_db_statements_total":
			statements = v
		case name == "realname_db_commits_total":
			commits = v
		}
	}
	return statements, commits, sc.Err()
}
