package handler

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// CodeDiskFull answers a write refused for lack of space, where the photos
// or the database live: a retry after space is freed succeeds, so it is a
// 503 with Retry-After, not a 500.
const CodeDiskFull = "disk_full"

// diskFullHold is how long /readyz fails after a write hit a full disk:
// long enough for the load balancer to drain the instance, short enough
// to come back by itself once space is freed.
const diskFullHold = 30 * time.Second

// DiskWatch remembers when a write last failed for a full disk, and reads
// the free space under the local data directory, for /readyz.
type DiskWatch struct {
	dir     string // "" when nothing is stored locally
	minFree uint64
	now     func() time.Time
	last    atomic.Int64 // unix ms of the last disk-full error
}

// NewDiskWatch watches dir (the SQLite file's and the photo files'
// directory; "" when both live elsewhere): ready while at least minFree
// bytes are free there and no write failed for a full disk in the last
// diskFullHold.
func NewDiskWatch(dir string, minFree uint64, now func() time.Time) *DiskWatch {
	return &DiskWatch{dir: dir, minFree: minFree, now: now}
}

// Mark records a disk-full error.
func (w *DiskWatch) Mark() { w.last.Store(w.now().UnixMilli()) }

// Check is the readiness check.
func (w *DiskWatch) Check(context.Context) error {
	if last := w.last.Load(); last != 0 && w.now().Sub(time.UnixMilli(last)) < diskFullHold {
		return errors.New("a write failed for a full disk")
	}
	if w.dir == "" {
		return nil
	}
	free, ok := freeBytes(w.dir)
	if ok && free < w.minFree {
		return fmt.Errorf("%d bytes free under the data directory, below %d", free, w.minFree)
	}
	return nil
}

const diskWatchKey = "disk_watch"

// watchDisk hands w to the error renderer of every request.
func watchDisk(w *DiskWatch) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(diskWatchKey, w)
		c.Next()
	}
}

// diskFull recognises a write refused for lack of space: ENOSPC from a
// file, SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100), MySQL's
// table or disk full (1114, 1021).
func diskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == 13 { // SQLITE_FULL and its extended codes
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "53100"
	}
	var my *mysql.MySQLError
	return errors.As(err, &my) && (my.Number == 1114 || my.Number == 1021)
}

// markDiskFull tells the request's DiskWatch, when there is one.
func markDiskFull(c *gin.Context) {
	if w, ok := c.Get(diskWatchKey); ok {
		w.(*DiskWatch).Mark()
	}
}
