// Package model holds the GORM models, the database opener and the ordered
// schema migrations. It carries no business rules: those live in service/.
package model

import "time"

// State is where a verification stands, as stored. The states and the
// transition table that moves between them are service/store's (store.State
// is this type): the one writer of verifications owns its machine, and
// model, which store imports, holds the type so the columns can carry it.
type State string

// User is one Mini Program user, keyed by (app id, openid).
type User struct {
	ID            int64  `gorm:"primaryKey"`
	AppID         string `gorm:"size:64;not null;uniqueIndex:ux_users_app_openid,priority:1"`
	OpenID        string `gorm:"size:128;not null;uniqueIndex:ux_users_app_openid,priority:2"`
	UnionID       string `gorm:"size:128;index:ix_users_unionid"`
	SessionKeyEnc []byte // WeChat session_key, encrypted; never leaves the server
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ErasedAt      *time.Time // personal data erased on request; the row stays for the audit trail
}

// Verification is one attempt of a user to prove who they are. Personal
// fields are stored encrypted (*Enc), looked up by keyed hash (*Hash) and
// shown masked (*Masked).
type Verification struct {
	ID             int64  `gorm:"primaryKey"`
	UserID         int64  `gorm:"not null;index:ix_verifications_user,priority:1"`
	State          State  `gorm:"size:16;not null;index:ix_verifications_queue,priority:1"`
	Version        int64  `gorm:"not null;default:1"` // optimistic lock, grows with every transition
	Mode           string `gorm:"size:16;not null"`   // photo or check
	Reason         string `gorm:"size:64;not null;default:''"`
	Provider       string `gorm:"size:32;not null;default:''"` // OCR provider that read the card
	NameEnc        []byte
	NameMasked     string `gorm:"size:64;not null;default:''"`
	IDNumberEnc    []byte
	IDNumberHash   []byte `gorm:"size:32;index:ix_verifications_idhash"`
	IDNumberMasked string `gorm:"size:32;not null;default:''"`
	FieldsEnc      []byte // all recognised fields (JSON), encrypted
	CorrectionsEnc []byte // what the user changed from the OCR reading (JSON), encrypted
	FrontBlob      string `gorm:"size:128;not null;default:''"`
	BackBlob       string `gorm:"size:128;not null;default:''"`
	ClaimedBy      *int64 // admin reviewing the case
	ClaimedUntil   *time.Time
	DecidedBy      *int64
	// UserNote is what the reviewer asked the user to do (a resubmit
	// request's note), masked of numbers; shown in the user's status.
	UserNote string `gorm:"size:1000;not null;default:''"`
	// UserNoteDigest names that note in event_texts, where it is sealed;
	// notes written before migration 0012 are in UserNote.
	UserNoteDigest string `gorm:"size:64;not null;default:''"`
	DecidedAt      *time.Time
	// Keyed hashes of the uploaded photos: an identical re-upload reuses
	// the stored reading instead of paying for OCR again.
	FrontHash       []byte     `gorm:"size:32"`
	BackHash        []byte     `gorm:"size:32"`
	ConsentVersion  string     `gorm:"size:32;not null;default:''"`
	PhotosDeletedAt *time.Time `gorm:"index:ix_verifications_photos,priority:1"`
	ErasedAt        *time.Time // personal fields wiped at the user's request
	// ChainHead is the hash of the newest audit event of this verification:
	// appending an event reads it with the row lock the step already holds,
	// instead of a locking read of the events table.
	ChainHead string    `gorm:"size:64;not null;default:''"`
	CreatedAt time.Time `gorm:"not null;index:ix_verifications_user,priority:2"`
	UpdatedAt time.Time `gorm:"not null;index:ix_verifications_queue,priority:2;index:ix_verifications_photos,priority:2"`
}

// SealedColumn is one of a verification's personal columns sealed at rest
// (AES-GCM, bound to the column's name and the row's id): its column name
// and where its value lives in the row.
type SealedColumn struct {
	Name  string
	Value *[]byte
}

// Sealed lists v's sealed personal columns, pointing into v: the one list
// that erasure wipes and key rotation reseals.
func (v *Verification) Sealed() []SealedColumn {
	return []SealedColumn{{"name_enc", &v.NameEnc}, {"id_number_enc", &v.IDNumberEnc},
		{"fields_enc", &v.FieldsEnc}, {"corrections_enc", &v.CorrectionsEnc}}
}

// Consent records that a user agreed to a version of the personal-data
// notice before any ID data was collected (PIPL's separate consent, 单独同意).
type Consent struct {
	ID      int64  `gorm:"primaryKey"`
	UserID  int64  `gorm:"not null;index:ix_consents_user"`
	Version string `gorm:"size:32;not null"`
	// Kind is what was agreed to: idcard (the card's data) or face (a face
	// check, biometric: its own notice and consent, PIPL art. 28–29).
	Kind      string    `gorm:"size:16;not null;default:'idcard'"`
	AgreedAt  time.Time `gorm:"not null"`
	CreatedAt time.Time
}

// IDBinding ties a verified ID number (by keyed hash) to an account. The
// unique (hash, slot) pair caps the accounts per number at the configured
// count even when two verifications finish at the same moment.
type IDBinding struct {
	ID             int64  `gorm:"primaryKey"`
	IDNumberHash   []byte `gorm:"size:32;not null;uniqueIndex:ux_id_bindings_hash_slot,priority:1"`
	Slot           int    `gorm:"not null;uniqueIndex:ux_id_bindings_hash_slot,priority:2"`
	UserID         int64  `gorm:"not null;index:ix_id_bindings_user"`
	VerificationID int64  `gorm:"not null"`
	CreatedAt      time.Time
}

// VerificationEvent is one entry of the audit trail: a transition or a staff
// action. Data never holds raw personal data. Hash chains the entries so
// tampering is evident.
type VerificationEvent struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID *int64    `gorm:"index:ix_events_verification"`
	Type           string    `gorm:"size:48;not null"`
	FromState      State     `gorm:"size:16;not null;default:''"`
	ToState        State     `gorm:"size:16;not null;default:''"`
	Actor          string    `gorm:"size:64;not null"` // user:<id>, admin:<id>, system
	Data           string    `gorm:"type:text"`        // JSON: provider attempts, reason codes, masked values
	PrevHash       string    `gorm:"size:64;not null;default:''"`
	Hash           string    `gorm:"size:64;not null;default:''"`
	CreatedAt      time.Time `gorm:"not null;index:ix_events_created"`
}

// EventText is free text written by staff or a business system about a
// verification (a reviewer's note, a revoke reason), sealed with the
// verification id and Digest as associated data. The chained audit event
// holds only Digest (a keyed hash), so erasure deletes the words and the
// chain still verifies.
type EventText struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID int64     `gorm:"not null;uniqueIndex:ux_event_texts_digest,priority:1"`
	Digest         string    `gorm:"size:64;not null;uniqueIndex:ux_event_texts_digest,priority:2"`
	TextEnc        []byte    `gorm:"not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

// FaceCheck is one face verification attempt (人脸核身): a verify_id asked of
// the face provider for a verification (or a step-up), and what came of
// it. The provider keeps the face; we keep our serial number, the verdict
// and the times. cert_hash is not stored: it is a hash of the name and
// number, recomputed from their sealed copies when the result is asked.
type FaceCheck struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID *int64    `gorm:"index:ix_face_checks_verification"`
	StepUpID       *int64    `gorm:"index:ix_face_checks_stepup"`
	AppID          string    `gorm:"size:64;not null;uniqueIndex:ux_face_checks_seq,priority:1"`
	OutSeqNo       string    `gorm:"size:32;not null;uniqueIndex:ux_face_checks_seq,priority:2"` // ours, unique per app
	VerifyID       string    `gorm:"size:256;not null"`
	Provider       string    `gorm:"size:32;not null"`
	ConsentVersion string    `gorm:"size:32;not null"`
	ExpiresAt      time.Time `gorm:"not null"`
	VerifyRet      *int      // the provider's verdict code, once asked
	Outcome        string    `gorm:"size:32;not null;default:''"` // passed, face_mismatch, …; "" while pending
	CreatedAt      time.Time
	DecidedAt      *time.Time
}

// StepUp is a business system's request that a verified user prove, by a
// face check, that they are the holder before a sensitive action (a
// withdrawal, a change of phone). PublicID ("stp_…") is what the APIs name.
type StepUp struct {
	ID             int64     `gorm:"primaryKey"`
	PublicID       string    `gorm:"size:40;not null;uniqueIndex:ux_step_ups_public"`
	UserID         int64     `gorm:"not null;index:ix_step_ups_user"`
	VerificationID int64     `gorm:"not null;index:ix_step_ups_verification"` // the verified verification whose identity is checked
	AppID          string    `gorm:"size:64;not null"`
	Action         string    `gorm:"size:64;not null"` // the business system's code for the action
	State          string    `gorm:"size:16;not null"` // pending, passed, failed, expired
	Reason         string    `gorm:"size:64;not null;default:''"`
	CreatedBy      string    `gorm:"size:64;not null"` // apikey:<id>
	ExpiresAt      time.Time `gorm:"not null"`
	CompletedAt    *time.Time
	CreatedAt      time.Time `gorm:"not null"`
}

// ProviderAttempt records one call to an OCR or name/ID check vendor.
type ProviderAttempt struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID int64     `gorm:"not null;index:ix_attempts_verification"`
	Kind           string    `gorm:"size:16;not null"` // ocr or idcheck
	Provider       string    `gorm:"size:32;not null;index:ix_attempts_provider,priority:1"`
	Outcome        string    `gorm:"size:32;not null"` // ok, definitive, provider_error, …
	ErrorCode      string    `gorm:"size:64;not null;default:''"`
	LatencyMS      int64     `gorm:"not null"`
	FieldsEnc      []byte    // what this provider read, encrypted, for side-by-side review
	CreatedAt      time.Time `gorm:"not null;index:ix_attempts_provider,priority:2"`
}

// AdminUser is a staff account for the review pages.
type AdminUser struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;not null;uniqueIndex:ux_admin_users_username"`
	PasswordHash string `gorm:"size:255;not null"`
	Role         string `gorm:"size:16;not null"` // reviewer or admin
	FailedLogins int    `gorm:"not null;default:0"`
	LockedUntil  *time.Time
	DisabledAt   *time.Time
	// Language is the console language the account chose (zh-CN, en);
	// empty: the browser's Accept-Language decides.
	Language  string `gorm:"size:8;not null;default:''"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WebhookEndpoint is a business system that receives signed callbacks.
type WebhookEndpoint struct {
	ID             int64  `gorm:"primaryKey"`
	URL            string `gorm:"size:2048;not null"`
	SecretEnc      []byte `gorm:"not null"`
	EventTypes     string `gorm:"size:512;not null;default:''"` // comma-separated; empty means all
	Enabled        bool   `gorm:"not null;default:true"`
	AllowPrivate   bool   `gorm:"not null;default:false"` // may resolve to loopback/private addresses
	DisabledReason string `gorm:"size:255;not null;default:''"`
	FailingSince   *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// PrevSecretEnc is the secret before the last rotation: deliveries are
	// signed with both until PrevSecretUntil, so receivers can switch over.
	PrevSecretEnc   []byte
	PrevSecretUntil *time.Time
	// ConfigKey marks the endpoint configured by REALNAME_WEBHOOK_URL; unique,
	// so instances starting together create it once.
	ConfigKey *string `gorm:"size:32;uniqueIndex:ux_webhook_endpoints_config_key"`
}

// WebhookEvent is an outbox row, written in the same transaction as the
// transition it reports. Its ID is the event id receivers deduplicate on.
type WebhookEvent struct {
	ID             string    `gorm:"primaryKey;size:40"`
	Type           string    `gorm:"size:48;not null"`
	VerificationID *int64    `gorm:"index:ix_webhook_events_verification"`
	Payload        string    `gorm:"type:text;not null"`
	CreatedAt      time.Time `gorm:"not null;index:ix_webhook_events_fanout,priority:2"`
	// FannedOutAt is set when the event's deliveries were created; the
	// dispatcher's fan-out picks the rows where it is still NULL.
	FannedOutAt *time.Time `gorm:"index:ix_webhook_events_fanout,priority:1"`
	// Seq orders events for GET /server/v1/events: given at fan-out under
	// one counter lock, so a reader that sees Seq n has seen every event
	// below it. NULL for events not for the feed (a ping).
	Seq *int64 `gorm:"uniqueIndex:ux_webhook_events_seq;index:ix_webhook_events_app_seq,priority:2"`
	// AppID is the app of the user the event is about, so the feed of a
	// key bound to an app filters in its WHERE; "" for a ping.
	AppID string `gorm:"size:64;not null;default:'';index:ix_webhook_events_app_seq,priority:1"`
	// TraceParent is the W3C traceparent of the traced step that wrote
	// the event ("" when untraced): its deliveries' spans link to it.
	TraceParent string `gorm:"size:64;not null;default:''"`
}

// EventSequence is the counter behind WebhookEvent.Seq (one row, name
// "events"), and how far pruning has deleted the feed.
type EventSequence struct {
	Name      string `gorm:"primaryKey;size:16"`
	LastSeq   int64  `gorm:"not null;default:0"`
	PrunedSeq int64  `gorm:"not null;default:0"` // the highest Seq deleted by retention
}

// APIKey is one business system's key to the server API. Only the
// SHA-256 of the secret is stored; Prefix (rnk_ and ten hex digits) finds it.
type APIKey struct {
	ID         int64  `gorm:"primaryKey"`
	Name       string `gorm:"size:64;not null"`
	Prefix     string `gorm:"size:24;not null;uniqueIndex:ux_api_keys_prefix"`
	SecretHash []byte `gorm:"size:32;not null"`
	Scopes     string `gorm:"size:128;not null"` // comma list
	CreatedBy  string `gorm:"size:64;not null"`  // admin:<id>, or cli
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// AppID is the app whose users and events the key reaches: an appid,
	// "*" for every app, "" for a key made before keys were bound to apps
	// (the configuration decides, see apikey).
	AppID string `gorm:"size:64;not null;default:''"`
}

// APIKeyUse is one request a key was let through with: the audit of its uses.
type APIKeyUse struct {
	ID        int64     `gorm:"primaryKey"`
	KeyID     int64     `gorm:"not null;index:ix_api_key_uses_key,priority:1"`
	At        time.Time `gorm:"not null;index:ix_api_key_uses_key,priority:2;index:ix_api_key_uses_at"`
	Method    string    `gorm:"size:8;not null"`
	Route     string    `gorm:"size:96;not null"` // the route template, never the path (it holds openids)
	Status    int       `gorm:"not null"`
	RequestID string    `gorm:"size:32;not null"`
	// VerificationID is the verification the request read or changed.
	VerificationID *int64
}

// APIKeyRefusal counts the requests of a key refused before they ran (Kind
// rate_limited or insufficient_scope) in one minute: one row per key,
// minute and kind, however many requests, so refusals cannot grow the table.
type APIKeyRefusal struct {
	ID       int64     `gorm:"primaryKey"`
	KeyID    int64     `gorm:"not null;uniqueIndex:ux_api_key_refusals,priority:1"`
	Minute   time.Time `gorm:"not null;uniqueIndex:ux_api_key_refusals,priority:2;index:ix_api_key_refusals_minute"`
	Kind     string    `gorm:"size:32;not null;uniqueIndex:ux_api_key_refusals,priority:3"`
	Requests int64     `gorm:"not null;default:0"`
}

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID            int64     `gorm:"primaryKey"`
	EventID       string    `gorm:"size:40;not null;uniqueIndex:ux_deliveries_event_endpoint,priority:1"`
	EndpointID    int64     `gorm:"not null;uniqueIndex:ux_deliveries_event_endpoint,priority:2;index:ix_deliveries_endpoint"`
	Status        string    `gorm:"size:16;not null;index:ix_deliveries_due,priority:1"` // pending, delivering, succeeded, failed, paused
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"not null;index:ix_deliveries_due,priority:2"`
	LeaseUntil    *time.Time
	LastStatus    int    `gorm:"not null;default:0"`
	LastError     string `gorm:"size:512;not null;default:''"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// LeaseID fences a claim: a worker records its result only while the
	// row still carries the id it claimed with.
	LeaseID string `gorm:"size:32;not null;default:''"`
}

// WebhookAttempt records one POST of a delivery.
type WebhookAttempt struct {
	ID         int64     `gorm:"primaryKey"`
	DeliveryID int64     `gorm:"not null;index:ix_webhook_attempts_delivery"`
	StatusCode int       `gorm:"not null;default:0"`
	LatencyMS  int64     `gorm:"not null"`
	Response   string    `gorm:"type:text"` // first KB of the answer
	Error      string    `gorm:"size:512;not null;default:''"`
	CreatedAt  time.Time `gorm:"not null"`
}

// Photo is one ID-card photo, sealed (AES-GCM, the reference as associated
// data), in the database's blob store. Data holds no clear byte of it.
type Photo struct {
	Ref       string    `gorm:"primaryKey;size:32"`
	Data      []byte    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// BlobJournal names a photo in a file or S3 store that no verification may
// name: written for a step not yet committed, or unreferenced by one that
// has. The row goes in the transaction that names the photo; what is left
// after a grace period is deleted by the sweeper.
type BlobJournal struct {
	Ref       string    `gorm:"primaryKey;size:32"`
	CreatedAt time.Time `gorm:"not null;index:ix_blob_journal_created"`
}

// TableName is blob_journal, as migration 0008 created it.
func (BlobJournal) TableName() string { return "blob_journal" }

// Notification statuses.
const (
	NotifyPending = "pending" // waiting for its next attempt (or leased to a courier)
	NotifySent    = "sent"
	NotifyRefused = "refused" // the user did not subscribe (WeChat 43101): final
	NotifyFailed  = "failed"  // gave up after the retries, or the message cannot be built
	NotifyDropped = "dropped" // the user erased their data first
)

// NotifyReviewResult is the notification sent when staff decide a case.
const NotifyReviewResult = "review_result"

// Notification is one message to a user about their verification, in
// the outbox until the courier has sent it (or given up).
type Notification struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID int64     `gorm:"not null;index:ix_notifications_verification"`
	UserID         int64     `gorm:"not null"`
	Kind           string    `gorm:"size:32;not null"`
	Status         string    `gorm:"size:16;not null;index:ix_notifications_due,priority:1"`
	Attempts       int       `gorm:"not null;default:0"`
	NextAttemptAt  time.Time `gorm:"not null;index:ix_notifications_due,priority:2"`
	LeaseUntil     *time.Time
	LastError      string `gorm:"size:256;not null;default:''"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
