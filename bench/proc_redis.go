package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// redisServer is a redis-server of the bench's own: the fault scenarios
// kill it, which they must never do to the machine's shared one. Like the
// shared one it keeps nothing on disk, so a restart comes back empty.
type redisServer struct {
	bin, dir string
	port     int
	proc     *child
}

// startRedisServer starts redis-server on a free loopback port, its log
// and working files in dir.
func startRedisServer(ctx context.Context, dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	r := &redisServer{bin: bin, dir: dir}
	r.port, _ = strconv.Atoi(port)
	return r, r.start(ctx)
}

// url is what the service instances are given as REALNAME_REDIS_URL.
func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs the server and waits until it answers PING.
func (r *redisServer) start(ctx context.Context) error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--maxclients", "10000"}
	p, err := startChild("redis-server", r.bin, args, childEnv(nil), filepath.Join(r.dir, "redis.log"), nil)
	if err != nil {
		return err
	}
	r.proc = p
	deadline := time.Now().Add(20 * time.Second)
	for !r.ping() {
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not start; its log ends:\n%s", p.logTail(2000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// ping speaks just enough RESP to see the server answer.
func (r *redisServer) ping() bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// kill ends the server with SIGKILL: no chance to say goodbye to clients.
func (r *redisServer) kill() {
	if r.proc != nil {
		r.proc.kill()
	}
}
