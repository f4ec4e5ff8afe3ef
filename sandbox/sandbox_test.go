package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestCountsAndFaults(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Register("demo", "GET /hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hi"))
	}), func(w http.ResponseWriter, _ *http.Request, mode string) {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": -1, "mode": mode})
	})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	get := func(client *http.Client) (string, error) {
		resp, err := client.Get(s.URL() + "/hello")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	fault := func(body string) int {
		resp, err := http.Post(s.URL()+"/_sandbox/faults", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got, _ := get(http.DefaultClient); got != "hi" {
		t.Fatalf("normal answer %q", got)
	}
	if fault(`{"upstream":"demo","mode":"quota"}`) != 200 {
		t.Fatal("setting a fault failed")
	}
	if got, _ := get(http.DefaultClient); got == "hi" || !bytes.Contains([]byte(got), []byte(`"quota"`)) {
		t.Fatalf("quota fault answer %q", got)
	}
	fault(`{"upstream":"demo","mode":"timeout"}`)
	if _, err := get(&http.Client{Timeout: 200 * time.Millisecond}); err == nil {
		t.Fatal("timeout mode answered")
	}
	fault(`{"upstream":"demo","mode":"slow","delay_ms":150}`)
	start := time.Now()
	if got, _ := get(http.DefaultClient); got != "hi" || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("slow mode: %q after %v", got, time.Since(start))
	}
	fault(`{"upstream":"demo","mode":"ok"}`)
	if fault(`{"upstream":"nobody","mode":"error"}`) != 400 || fault(`{"upstream":"demo","mode":"explode"}`) != 400 {
		t.Fatal("bad faults must be refused")
	}
	resp, err := http.Get(s.URL() + "/_sandbox/calls")
	if err != nil {
		t.Fatal(err)
	}
	var calls struct{ Calls map[string]int }
	_ = json.NewDecoder(resp.Body).Decode(&calls)
	resp.Body.Close()
	if calls.Calls["demo GET /hello"] != 4 {
		t.Fatalf("calls = %v", calls.Calls)
	}
}
