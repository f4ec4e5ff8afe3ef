package model

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestGormLoggerBuildsSQLOnlyForWhatItLogs: a fast, successful statement
// costs no SQL rendering; an error and a slow statement are logged.
func TestGormLoggerBuildsSQLOnlyForWhatItLogs(t *testing.T) {
	var buf bytes.Buffer
	l := newGormLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	rendered := 0
	fc := func() (string, int64) { rendered++; return "SELECT 1", 1 }
	ctx := context.Background()

	l.Trace(ctx, time.Now(), fc, nil)
	l.Trace(ctx, time.Now(), fc, gorm.ErrRecordNotFound)
	if rendered != 0 || buf.Len() != 0 {
		t.Fatalf("a fast statement was rendered %d times and logged %q", rendered, buf.String())
	}
	l.Trace(ctx, time.Now(), fc, errors.New("boom"))
	if rendered != 1 || !strings.Contains(buf.String(), "boom") {
		t.Fatalf("an error was not logged: rendered %d, log %q", rendered, buf.String())
	}
	buf.Reset()
	l.Trace(ctx, time.Now().Add(-time.Second), fc, nil)
	if rendered != 2 || !strings.Contains(buf.String(), "SELECT 1") {
		t.Fatalf("a slow statement was not logged: rendered %d, log %q", rendered, buf.String())
	}
	buf.Reset()
	debug := l.LogMode(logger.Info)
	debug.Trace(ctx, time.Now(), fc, nil)
	if rendered != 3 || !strings.Contains(buf.String(), "SELECT 1") {
		t.Fatalf("Debug() did not log every statement: rendered %d, log %q", rendered, buf.String())
	}
}
