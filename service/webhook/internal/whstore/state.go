package whstore

import (
	"errors"
	"fmt"
	"slices"
)

// State is where a delivery stands: the value its status column stores.
// The names are the ones the column, the admin pages and the backlog
// gauges have always used (one name per state, so rows written before this
// type existed, and instances of the previous version running beside this
// one in a rolling deploy, need no migration). In the words of the issue
// that asked for this machine: Delivering is "leased", Succeeded is
// "delivered", Failed is "dead", and "retry" is the move from Delivering
// back to Pending with a later next_attempt_at.
type State string

// The delivery states.
const (
	// None is a delivery not written yet: the from-state of a creation.
	None State = ""
	// Pending waits for next_attempt_at: new, retrying, replayed, resumed.
	Pending State = "pending"
	// Delivering is leased to one worker (lease_id) until next_attempt_at,
	// which holds the lease's end so the sweep finds it by the same index.
	Delivering State = "delivering"
	// Succeeded: the receiver answered 2xx.
	Succeeded State = "succeeded"
	// Failed is dead: the retry schedule ran out, or the receiver answered
	// 410 Gone. Only a replay sends it again.
	Failed State = "failed"
	// Paused waits for its endpoint, disabled, to be enabled again.
	Paused State = "paused"
)

// String is the stored value (for templates, which take strings).
func (s State) String() string { return string(s) }

// States lists the states a delivery row can be in, in the order of its life.
func States() []State { return []State{Pending, Delivering, Succeeded, Failed, Paused} }

// Finished reports whether a delivery in s is history, not work: nothing
// will send it again but a replay, and retention may delete it.
func Finished(s State) bool { return s == Succeeded || s == Failed }

// Move names a transition of the delivery machine. Every write of a
// delivery's status is one of these, checked against the table.
type Move string

// The moves.
const (
	Queue   Move = "queue"   // create pending: the fan-out, a ping, a backfill
	Park    Move = "park"    // create paused: the fan-out, for a disabled endpoint
	Claim   Move = "claim"   // a worker leases it
	Deliver Move = "deliver" // the receiver answered 2xx
	Retry   Move = "retry"   // the attempt failed; the next is scheduled
	GiveUp  Move = "give_up" // the attempt failed and the schedule is over (or 410 Gone)
	Reclaim Move = "reclaim" // the worker's lease ran out (it crashed or stalled)
	Pause   Move = "pause"   // its endpoint was disabled
	Resume  Move = "resume"  // its endpoint was enabled
	Replay  Move = "replay"  // an admin sends it again, on a fresh schedule
)

// edge is a move's row in the table: the states it may start from, and
// where it goes.
type edge struct {
	from []State
	to   State
}

// transitions is the delivery machine, the one table every status write
// is checked against (and fenced by: the UPDATE's WHERE names the
// from-state, so a row that moved meanwhile is not written).
var transitions = map[Move]edge{
	Queue: {from: []State{None}, to: Pending},
	Park:  {from: []State{None}, to: Paused},
	Claim: {from: []State{Pending}, to: Delivering},
	// A result comes from its worker, fenced by its lease id: on a
	// delivery it still holds, or on one the sweep requeued after the
	// lease ran out and nobody has claimed since (see Record).
	Deliver: {from: []State{Delivering, Pending}, to: Succeeded},
	Retry:   {from: []State{Delivering, Pending}, to: Pending},
	GiveUp:  {from: []State{Delivering, Pending}, to: Failed},
	Reclaim: {from: []State{Delivering}, to: Pending},
	Pause:   {from: []State{Pending}, to: Paused},
	Resume:  {from: []State{Paused}, to: Pending},
	Replay:  {from: []State{Succeeded, Failed}, to: Pending},
}

// ErrTransition is a write the machine does not allow: a programming
// error, refused before anything is written.
var ErrTransition = errors.New("webhook store: transition not in the delivery machine")

// Moves lists every move of the table.
func Moves() []Move {
	return []Move{Queue, Park, Claim, Deliver, Retry, GiveUp, Reclaim, Pause, Resume, Replay}
}

// Target is the state m leads to.
func Target(m Move) State { return transitions[m].to }

// Allowed reports whether the machine has a move from → to.
func Allowed(from, to State) bool {
	for _, e := range transitions {
		if e.to == to && slices.Contains(e.from, from) {
			return true
		}
	}
	return false
}

// check returns the state m leads to from from, or ErrTransition.
func check(m Move, from State) (State, error) {
	e, ok := transitions[m]
	if !ok || !slices.Contains(e.from, from) {
		return "", fmt.Errorf("%w: %s from %q", ErrTransition, m, from)
	}
	return e.to, nil
}
