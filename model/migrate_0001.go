package model

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// The structs below are frozen copies of the models as they were when this
// migration was written; later model changes get their own migration, so
// replaying history always builds the same schema.

func migration0001() *gormigrate.Migration {
	tables := []any{&v1User{}, &v1Verification{}, &v1VerificationEvent{}, &v1ProviderAttempt{}, &v1AdminUser{},
		&v1WebhookEndpoint{}, &v1WebhookEvent{}, &v1WebhookDelivery{}, &v1WebhookAttempt{}}
	return &gormigrate.Migration{
		ID: "0001_initial",
		Migrate: func(tx *gorm.DB) error {
			return tx.Migrator().CreateTable(tables...)
		},
		Rollback: func(tx *gorm.DB) error {
			// Plain DROP TABLE: gorm's MySQL DropTable opens its own pinned
			// connection, which fails inside our migration lock's connection.
			for i := len(tables) - 1; i >= 0; i-- {
				name := tables[i].(interface{ TableName() string }).TableName()
				if err := tx.Exec("DROP TABLE IF EXISTS " + name).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (v1User) TableName() string              { return "users" }
func (v1Verification) TableName() string      { return "verifications" }
func (v1VerificationEvent) TableName() string { return "verification_events" }
func (v1ProviderAttempt) TableName() string   { return "provider_attempts" }
func (v1AdminUser) TableName() string         { return "admin_users" }
func (v1WebhookEndpoint) TableName() string   { return "webhook_endpoints" }
func (v1WebhookEvent) TableName() string      { return "webhook_events" }
func (v1WebhookDelivery) TableName() string   { return "webhook_deliveries" }
func (v1WebhookAttempt) TableName() string    { return "webhook_attempts" }

type v1User struct {
	ID            int64  `gorm:"primaryKey"`
	AppID         string `gorm:"size:64;not null;uniqueIndex:ux_users_app_openid,priority:1"`
	OpenID        string `gorm:"size:128;not null;uniqueIndex:ux_users_app_openid,priority:2"`
	UnionID       string `gorm:"size:128;index:ix_users_unionid"`
	SessionKeyEnc []byte // WeChat session_key, encrypted; never leaves the server
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ErasedAt      *time.Time // personal data erased on request; the row stays for the audit trail
}

type v1Verification struct {
	ID             int64  `gorm:"primaryKey"`
	UserID         int64  `gorm:"not null;index:ix_verifications_user,priority:1"`
	State          string `gorm:"size:16;not null;index:ix_verifications_queue,priority:1;index:ix_verifications_sweep,priority:1"`
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
	DecidedAt      *time.Time
	CreatedAt      time.Time `gorm:"not null;index:ix_verifications_user,priority:2"`
	UpdatedAt      time.Time `gorm:"not null;index:ix_verifications_queue,priority:2;index:ix_verifications_sweep,priority:2"`
}

type v1VerificationEvent struct {
	ID             int64     `gorm:"primaryKey"`
	VerificationID *int64    `gorm:"index:ix_events_verification"`
	Type           string    `gorm:"size:48;not null"`
	FromState      string    `gorm:"size:16;not null;default:''"`
	ToState        string    `gorm:"size:16;not null;default:''"`
	Actor          string    `gorm:"size:64;not null"` // user:<id>, admin:<id>, system
	Data           string    `gorm:"type:text"`        // JSON: provider attempts, reason codes, masked values
	PrevHash       string    `gorm:"size:64;not null;default:''"`
	Hash           string    `gorm:"size:64;not null;default:''"`
	CreatedAt      time.Time `gorm:"not null;index:ix_events_created"`
}

type v1ProviderAttempt struct {
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

type v1AdminUser struct {
	ID           int64  `gorm:"primaryKey"`
	Username     string `gorm:"size:64;not null;uniqueIndex:ux_admin_users_username"`
	PasswordHash string `gorm:"size:255;not null"`
	Role         string `gorm:"size:16;not null"` // reviewer or admin
	FailedLogins int    `gorm:"not null;default:0"`
	LockedUntil  *time.Time
	DisabledAt   *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

type v1WebhookEndpoint struct {
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
}

type v1WebhookEvent struct {
	ID             string    `gorm:"primaryKey;size:40"`
	Type           string    `gorm:"size:48;not null"`
	VerificationID *int64    `gorm:"index:ix_webhook_events_verification"`
	Payload        string    `gorm:"type:text;not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

type v1WebhookDelivery struct {
	ID            int64     `gorm:"primaryKey"`
	EventID       string    `gorm:"size:40;not null;uniqueIndex:ux_deliveries_event_endpoint,priority:1"`
	EndpointID    int64     `gorm:"not null;uniqueIndex:ux_deliveries_event_endpoint,priority:2;index:ix_deliveries_endpoint"`
	Status        string    `gorm:"size:16;not null;index:ix_deliveries_due,priority:1"` // pending, delivering, succeeded, failed
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"not null;index:ix_deliveries_due,priority:2"`
	LeaseUntil    *time.Time
	LastStatus    int    `gorm:"not null;default:0"`
	LastError     string `gorm:"size:512;not null;default:''"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type v1WebhookAttempt struct {
	ID         int64     `gorm:"primaryKey"`
	DeliveryID int64     `gorm:"not null;index:ix_webhook_attempts_delivery"`
	StatusCode int       `gorm:"not null;default:0"`
	LatencyMS  int64     `gorm:"not null"`
	Response   string    `gorm:"type:text"` // first KB of the answer
	Error      string    `gorm:"size:512;not null;default:''"`
	CreatedAt  time.Time `gorm:"not null"`
}
