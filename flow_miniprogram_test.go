package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"realname/config"
	"realname/model/modeltest"
)

// TestExampleMiniProgram taps through examples/miniprogram's page in Node
// with a stub wx (testdata/miniprogram/driver.js) against a running
// server: consent, both photos, a refused file, confirm as read, reload,
// erasure. CI sets REALNAME_TEST_NODE, so there a missing node fails.
func TestExampleMiniProgram(t *testing.T) {
	node := needNode(t)
	s := startService(t, modeltest.Backends()[0], nil)
	runDriver(t, node, s, "female")
}

// TestExampleMiniProgramFace walks the page's face step (REALNAME_FACE=
// required): submit shows it, its own consent, an old base library said
// in words, a cancel played through the sandbox then a retry with a new
// verify_id that passes. The driver's wx.requestFacialVerify plays the
// WeChat client through the sandbox's control endpoint.
func TestExampleMiniProgramFace(t *testing.T) {
	node := needNode(t)
	s := startService(t, modeltest.Backends()[0], func(c *config.Config) { c.Face = "required" })
	runDriver(t, node, s, "female", s.sandbox)
}

// TestExampleMiniProgramFaceDecline: in fallback mode a card with no
// record at the authority offers the face check, and the page's
// 转人工审核 link sends the case to staff instead.
func TestExampleMiniProgramFaceDecline(t *testing.T) {
	node := needNode(t)
	s := startService(t, modeltest.Backends()[0], func(c *config.Config) { c.Face = "fallback" })
	runDriver(t, node, s, "norecord", s.sandbox, "fallback")
}

func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("REALNAME_TEST_NODE") != "" {
			t.Fatal("REALNAME_TEST_NODE is set but node is not installed")
		}
		t.Skip("node is not installed")
	}
	return node
}

// runDriver runs driver.js against s with the photos of the sample card
// named card; extra arguments follow the usual ones.
func runDriver(t *testing.T, node string, s *service, card string, extra ...string) {
	t.Helper()
	c := cardByKey(t, card)
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
	args := append([]string{"testdata/miniprogram/driver.js", s.url, front, back, junk, who}, extra...)
	out, err := exec.Command(node, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
