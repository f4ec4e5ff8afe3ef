package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// repoRoot is the directory holding realname's go.mod: dir when given,
// else the first such directory from the working directory upwards, so
// `go run ./bench` works from the repository root or any folder below it.
func repoRoot(dir string) (string, error) {
	if dir != "" {
		if !isRealnameModule(dir) {
			return "", fmt.Errorf("%s does not hold the go.mod of module realname", dir)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isRealnameModule(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module realname above %s; pass -repo", wd)
		}
	}
}

func isRealnameModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module realname"
}

// buildServer compiles the service once into dir, so every instance runs
// the same binary and no `go run` wrapper sits between the bench and the
// process it measures.
func buildServer(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "realname")
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, "go", "build", "-o", bin, ".")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a loopback address nothing listens on at this moment.
// Another process could take it before the child binds it; the child
// then fails to start, which waitReady reports.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// childEnv is the bench's own environment without REALNAME_* variables,
// plus vars: the service refuses unknown REALNAME_* names, and whatever
// the caller's shell sets must not change what is measured.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REALNAME_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// child is one process the bench started and must stop.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed
}

// startChild runs bin args with env, its output appended to logPath. The
// child gets its own process group, so a Ctrl-C in the terminal reaches
// only the bench, which then stops the children in order; and SIGKILL
// when the bench dies, so none outlives a crashed bench. cred, when not
// nil, runs it as another user.
func startChild(name, bin string, args, env []string, logPath string, cred *syscall.Credential) (*child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, log: f, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for a graceful exit, then kills.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// kill ends the process at once, as a crash or the OOM killer would.
func (c *child) kill() {
	if !c.exited() {
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail is the last n bytes of the child's output, for error messages.
func (c *child) logTail(n int64) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// panics counts log lines mentioning a panic (the recovery middleware
// logs one per recovered request; an unrecovered one prints "panic:").
func (c *child) panics() (n int, first string) {
	f, err := os.Open(c.logPath)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if bytes.Contains(bytes.ToLower(sc.Bytes()), []byte("panic")) {
			if n == 0 {
				first = sc.Text()
				if len(first) > 300 {
					first = first[:300]
				}
			}
			n++
		}
	}
	return n, first
}

// waitHTTP polls url until it answers 200, the child exits, or timeout.
func (c *child) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited (%v) before it was ready; its log ends:\n%s", c.name, c.waitErr, c.logTail(2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v; its log ends:\n%s", c.name, timeout, c.logTail(2000))
		}
	}
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports (it is fixed by the ABI,
// whatever the kernel's HZ), and reading it would need cgo's sysconf.
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis, where field 3 (state) is [0].
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// procTreeCPU is the CPU time of pid, of its children that have exited
// (cutime, cstime) and of those still running: PostgreSQL's backends are
// children of the postmaster, and come and go with connections.
func procTreeCPU(pid int) time.Duration {
	total, _ := procCPU(pid)
	if f := statFields(pid); len(f) >= 15 {
		cu, _ := strconv.ParseInt(f[13], 10, 64) // field 16
		cs, _ := strconv.ParseInt(f[14], 10, 64) // field 17
		total += time.Duration(cu+cs) * clockTick
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(child); len(f) >= 2 && f[1] == strconv.Itoa(pid) { // field 4: ppid
			d, _ := procCPU(child)
			total += d
		}
	}
	return total
}

// statFields are the fields of /proc/<pid>/stat after the command name,
// field 3 (state) first.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procPeakRSS is pid's peak resident set size (VmHWM) in bytes.
func procPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// loadAvg is the first field of /proc/loadavg: how busy the machine is,
// the bench included. Others' work on a shared machine shows here.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
