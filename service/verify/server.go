package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"realname/model"
	"realname/service/store"
)

// Subject names a Mini Program user as a business system knows them: an
// openid of an app (AppID empty: the caller's app, else the default app),
// or a unionid, or both when they name the same user. Within, when set, is
// the only app the caller may reach (its API key's): a user of another
// app is answered as absent.
type Subject struct {
	AppID, OpenID, UnionID string
	Within                 string
}

// ServerView is a user's verification as the server API answers it:
// masked values only, the same fields the webhooks carry.
type ServerView struct {
	VerificationID int64      `json:"verification_id,omitempty"`
	AppID          string     `json:"appid"`
	OpenID         string     `json:"openid"`
	UnionID        string     `json:"unionid,omitempty"`
	State          string     `json:"state"` // "none" when the user never started
	Reason         string     `json:"reason,omitempty"`
	Mode           string     `json:"mode,omitempty"`
	NameMasked     string     `json:"name_masked,omitempty"`
	IDNumberMasked string     `json:"id_number_masked,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
	Version        int64      `json:"version"`
	Final          bool       `json:"final"`
}

// ErrNoUser is a subject no user of ours matches.
var ErrNoUser = errors.New("verify: no such user")

// ErrSubjectConflict is a subject whose openid and unionid name different
// users: which one is meant cannot be guessed.
var ErrSubjectConflict = errors.New("verify: the openid and the unionid name different users")

// ErrNotVerified is a revocation of a verification that is not verified.
var ErrNotVerified = errors.New("verify: the user's verification is not verified")

// ReasonRevoked is the reason of a revoked verification.
const ReasonRevoked = "revoked"

// maxRevokeReason bounds the business system's words in the audit chain.
const maxRevokeReason = 500

// subjectUser finds the user a subject names, within the caller's app. An
// openid is looked up first; a unionid beside it must be that user's. A
// unionid alone may name users of several apps: the one whose
// verification changed last is meant.
func (s *Service) subjectUser(ctx context.Context, subj Subject, defaultApp string) (model.User, error) {
	var u model.User
	var err error
	switch {
	case subj.OpenID != "":
		app := cmp.Or(subj.AppID, subj.Within, defaultApp)
		if subj.Within != "" && app != subj.Within {
			return u, fmt.Errorf("%w (app %s is not the caller's)", ErrNoUser, app)
		}
		u, err = s.store.UserByOpenID(ctx, app, subj.OpenID)
		if err == nil && subj.UnionID != "" && u.UnionID != subj.UnionID {
			return model.User{}, ErrSubjectConflict
		}
	case subj.UnionID != "":
		u, err = s.store.UserByUnionID(ctx, subj.UnionID, subj.Within)
	default:
		return u, ErrNoUser
	}
	if errors.Is(err, store.ErrNotFound) {
		return u, ErrNoUser
	}
	if err != nil {
		return u, fmt.Errorf("verify: find user: %w", err)
	}
	return u, nil
}

// ServerStatus is the subject's latest verification, masked.
func (s *Service) ServerStatus(ctx context.Context, subj Subject, defaultApp string) (ServerView, error) {
	u, err := s.subjectUser(ctx, subj, defaultApp)
	if err != nil {
		return ServerView{}, err
	}
	v, err := s.store.Latest(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ServerView{AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, State: "none"}, nil
	}
	if err != nil {
		return ServerView{}, err
	}
	return serverView(u, v.Verification), nil
}

func serverView(u model.User, v model.Verification) ServerView {
	at := v.UpdatedAt
	return ServerView{VerificationID: v.ID, AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, State: string(v.State),
		Reason: v.Reason, Mode: v.Mode, NameMasked: v.NameMasked, IDNumberMasked: v.IDNumberMasked,
		DecidedAt: v.DecidedAt, UpdatedAt: &at, Version: v.Version, Final: store.Terminal(v.State)}
}

// Revoke ends the subject's verified verification as revoked (a business
// system found it fraudulent later): in one step the state, the audit
// event with the digest of the caller's reason (sealed beside it, bounded,
// numbers and the holder's name and address masked), the
// verification.revoked webhook, and the release of the ID binding, so the
// number can be verified on another account. The user's status then says
// revoked; a new verification may start.
func (s *Service) Revoke(ctx context.Context, subj Subject, defaultApp, reason, actor string) (ServerView, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || !utf8.ValidString(reason) {
		return ServerView{}, fmt.Errorf("%w: a reason is required", ErrRevokeReason)
	}
	u, err := s.subjectUser(ctx, subj, defaultApp)
	if err != nil {
		return ServerView{}, err
	}
	v, err := s.store.StepLatest(ctx, u.ID, func(ctx context.Context, v *model.Verification) (store.Change, error) {
		if v.State != store.Verified {
			return store.Change{}, fmt.Errorf("%w (it is %s)", ErrNotVerified, v.State)
		}
		if err := s.store.Unbind(ctx, v); err != nil {
			return store.Change{}, err
		}
		text, _, err := FreeText(s.crypto, v, "reason", reason, maxRevokeReason)
		if err != nil {
			return store.Change{}, err
		}
		return store.Change{To: store.Revoked, Event: "revoked", Actor: actor, Hook: HookRevoked,
			Texts: []store.Text{text}, Set: store.Patch{Reason: store.Ptr(ReasonRevoked)}}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ServerView{}, fmt.Errorf("%w (no verification)", ErrNotVerified)
	}
	if err != nil {
		return ServerView{}, err
	}
	return serverView(u, v), nil
}

// ErrRevokeReason is a revocation without a reason.
var ErrRevokeReason = errors.New("verify: a revocation needs a reason")
