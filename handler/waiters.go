package handler

import "sync"

// maxWaitersPerKey bounds the long-polls one API key holds open at once:
// each is a goroutine and a connection, and a reader needs one or two.
const maxWaitersPerKey = 8

// waiters counts the long-polls waiting per API key.
type waiters struct {
	mu  sync.Mutex
	n   map[int64]int
	max int
}

func newWaiters(max int) *waiters { return &waiters{n: map[int64]int{}, max: max} }

// enter takes a place for key, or reports that it has none left.
func (w *waiters) enter(key int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[key] >= w.max {
		return false
	}
	w.n[key]++
	return true
}

// leave gives key's place back.
func (w *waiters) leave(key int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[key]--; w.n[key] <= 0 {
		delete(w.n, key)
	}
}
