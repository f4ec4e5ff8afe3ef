package store

// State is where a verification stands.
type State string

// The states. Erased is reached from any state by the user's erasure;
// Revoked (a business system's revocation) is not here yet.
const (
	Draft      State = "draft"
	Recognized State = "recognized"
	Checking   State = "checking"
	Verified   State = "verified"
	Rejected   State = "rejected"
	Review     State = "review"
	Expired    State = "expired"
	Erased     State = "erased"
)

// transitions is the state machine: from → the states it may move to.
// Staying in draft/recognized (another photo read) is a transition to the
// same state, written the same way. Erasure is not listed: it wins from
// every state and is written by Erase alone.
var transitions = map[State][]State{
	Draft:      {Draft, Recognized, Checking, Expired},
	Recognized: {Recognized, Checking, Expired},
	Checking:   {Verified, Rejected, Review},
	Review:     {Verified, Rejected},
}

// Allowed reports whether the machine permits from → to.
func Allowed(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether a state is an end: no further transition.
func Terminal(s State) bool { return len(transitions[s]) == 0 }

// TakesPhotos reports whether a verification in s still takes photos.
func TakesPhotos(s State) bool { return s == Draft || s == Recognized }
