package store

import "realname/model"

// State is where a verification stands: model.State, the type of the
// columns that hold it, named here beside its transition table.
type State = model.State

// The states. Erased is reached from any state by the user's erasure;
// Revoked from Verified, when a business system revokes a verification
// found fraudulent later.
const (
	Draft      State = "draft"
	Recognized State = "recognized"
	Checking   State = "checking"
	Verified   State = "verified"
	Rejected   State = "rejected"
	Review     State = "review"
	Expired    State = "expired"
	Erased     State = "erased"
	Revoked    State = "revoked"
	// FacePending waits for the user's face check (人脸核身), in place of
	// the paid name/ID check (REALNAME_FACE=required) or before staff
	// review (fallback).
	FacePending State = "face_pending"
)

// transitions is the state machine: from → the states it may move to.
// Staying in draft/recognized (another photo read) is a transition to the
// same state, written the same way. Erasure is not listed: it wins from
// every state and is written by Erase alone.
var transitions = map[State][]State{
	Draft:       {Draft, Recognized, Checking, FacePending, Expired},
	Recognized:  {Recognized, Checking, FacePending, Expired},
	Checking:    {Verified, Rejected, Review, FacePending},
	FacePending: {Verified, Rejected, Review, Expired},
	Review:      {Verified, Rejected},
	Verified:    {Revoked},
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

// Terminal reports whether a state is a decision: the flow is over and
// the photos' retention runs. Verified is one though a revocation may
// still follow it: that is a later, separate decision, not the flow.
func Terminal(s State) bool {
	switch s {
	case Verified, Rejected, Expired, Erased, Revoked:
		return true
	}
	return false
}

// Idles reports whether a verification in s waits on its user, and so
// expires when they walk away: taking photos, or waiting for a face check.
func Idles(s State) bool { return TakesPhotos(s) || s == FacePending }

// TakesPhotos reports whether a verification in s still takes photos.
func TakesPhotos(s State) bool { return s == Draft || s == Recognized }
