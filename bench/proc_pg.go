package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"realname/model"
	"realname/service/clock"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// localPostgres is the machine's shared PostgreSQL: others use it at the
// same time, so the bench only ever creates and drops its own databases.
const localPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// randomSuffix is a short random hex string for names unique to a run.
func randomSuffix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freshDatabase creates an empty database bench_<random> on the server of
// serverDSN and returns its DSN and a function that drops it.
func freshDatabase(ctx context.Context, serverDSN string) (dsn string, drop func(), err error) {
	u, err := url.Parse(serverDSN)
	if err != nil {
		return "", nil, errors.New("the database URL does not parse")
	}
	name := "bench_" + randomSuffix()
	if err := pgExec(ctx, serverDSN, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop = func() {
		// Its own deadline: drop runs on the way out, also after Ctrl-C
		// has cancelled the run's context.
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends sessions a killed child may have left behind.
		if err := pgExec(dctx, serverDSN, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
	}
	return u.String(), drop, nil
}

// pgExec runs one statement on a connection of its own.
func pgExec(ctx context.Context, dsn, sql string, args ...any) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(cctx))
	_, err = conn.Exec(cctx, sql, args...)
	return err
}

// pgCluster is a PostgreSQL server of the bench's own, in a temporary
// directory on a free port: the fault scenarios restart it, which they
// must never do to the shared one.
type pgCluster struct {
	dir, data string
	port      int
	bin       string // directory of initdb and postgres
	cred      *syscall.Credential
	proc      *child
}

// startPGCluster runs initdb and starts the server. As root it runs them
// as the postgres user, since PostgreSQL refuses to run as root.
func startPGCluster(ctx context.Context) (*pgCluster, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, data: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ictx, filepath.Join(bin, "initdb"), "-D", c.data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		c.close()
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	c.port, _ = strconv.Atoi(port)
	if err := c.start(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// postgresBinDir finds initdb: on PATH, else in Debian's versioned folder.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", errors.New("no initdb on PATH or in /usr/lib/postgresql")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// dsn is the URL of database name on the cluster.
func (c *pgCluster) dsn(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// start runs the postmaster as a direct child (so it dies with the bench)
// and waits until it accepts connections.
func (c *pgCluster) start(ctx context.Context) error {
	args := []string{"-D", c.data, "-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
		// Loaded so the flow can say which statements the time goes to.
		"-c", "shared_preload_libraries=pg_stat_statements"}
	p, err := startChild("postgres", filepath.Join(c.bin, "postgres"), args, childEnv(nil), filepath.Join(c.dir, "postgres.log"), c.cred)
	if err != nil {
		return err
	}
	c.proc = p
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := pgExec(ctx, c.dsn("postgres"), "SELECT 1"); err == nil {
			return nil
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("postgres did not start; its log ends:\n%s", p.logTail(2000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// crash stops the server the way a power cut or an OOM kill of the
// database host would look to clients: SIGQUIT is PostgreSQL's immediate
// shutdown, which ends every backend at once and leaves crash recovery to
// the next start.
func (c *pgCluster) crash() {
	if c.proc == nil || c.proc.exited() {
		return
	}
	_ = c.proc.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.proc.done:
	case <-time.After(30 * time.Second):
		c.proc.kill()
	}
}

// close stops the server and deletes its files.
func (c *pgCluster) close() {
	c.crash()
	os.RemoveAll(c.dir)
}

// localMySQL is the machine's MariaDB (standing in for MySQL), for -db mysql.
const localMySQL = "mysql://root@127.0.0.1:3306/test"

// freshMySQLDatabase is freshDatabase on a MySQL/MariaDB server.
func freshMySQLDatabase(ctx context.Context, serverDSN string) (dsn string, drop func(), err error) {
	u, err := url.Parse(serverDSN)
	if err != nil {
		return "", nil, errors.New("the database URL does not parse")
	}
	admin, err := model.Open(ctx, serverDSN, "", slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{}.Now)
	if err != nil {
		return "", nil, err
	}
	name := "bench_" + randomSuffix()
	if err := admin.WithContext(ctx).Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error; err != nil {
		_ = model.Close(admin)
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.WithContext(dctx).Exec("DROP DATABASE IF EXISTS " + name).Error; err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
		_ = model.Close(admin)
	}
	return u.String(), drop, nil
}
