package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"realname/model/modeltest"
)

// TestExampleMiniProgram taps through examples/miniprogram's page in Node
// with a stub wx (testdata/miniprogram/driver.js) against a running
// server: consent, both photos, a refused file, confirm as read, reload,
// erasure. CI sets REALNAME_TEST_NODE, so there a missing node fails.
func TestExampleMiniProgram(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("REALNAME_TEST_NODE") != "" {
			t.Fatal("REALNAME_TEST_NODE is set but node is not installed")
		}
		t.Skip("node is not installed")
	}
	s := startService(t, modeltest.Backends()[0], nil)
	c := cardByKey(t, "female")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	front := write("front.jpg", cardImage(t, c.Front))
	back := write("back.jpg", cardImage(t, c.Back))
	junk := write("junk.jpg", []byte(strings.Repeat("not a photo ", 100)))
	who := "mp-driver-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	out, err := exec.Command(node, "testdata/miniprogram/driver.js", s.url, front, back, junk, who).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
