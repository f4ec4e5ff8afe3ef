// Package config holds the one typed configuration of realname, loaded from
// REALNAME_* environment variables and an optional YAML file.
package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // REALNAME_TIMEZONE loads on a host without /usr/share/zoneinfo
)

// Prefix starts every environment variable the service reads.
const Prefix = "REALNAME_"

// Environment names accepted in REALNAME_ENV.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is everything the service can be told at start. The `env` tag is the
// variable name after Prefix, `yaml` the key in the file, `secret` keeps the
// value out of logs and help output, `help` documents it.
type Config struct {
	Env             string        `env:"ENV" yaml:"env" help:"development or production; production refuses dev conveniences (generated keys, in-process Redis, sandbox)"`
	HTTPAddr        string        `env:"HTTP_ADDR" yaml:"http_addr" help:"listen address of the HTTP server"`
	MetricsAddr     string        `env:"METRICS_ADDR" yaml:"metrics_addr" help:"listen address of a separate /metrics listener, e.g. 10.0.0.11:9100 (keep it internal); when set, /metrics is not served on HTTP_ADDR"`
	PprofAddr       string        `env:"PPROF_ADDR" yaml:"pprof_addr" help:"listen address of a Go profiling endpoint (/debug/pprof/), e.g. 127.0.0.1:6060; off when empty; loopback addresses only"`
	DataDir         string        `env:"DATA_DIR" yaml:"data_dir" help:"directory for the SQLite file, blobs and the dev master key"`
	DatabaseURL     string        `env:"DATABASE_URL" yaml:"database_url" secret:"true" help:"empty: SQLite in DATA_DIR; postgres://… or mysql://…"`
	BlobURL         string        `env:"BLOB_URL" yaml:"blob_url" help:"where ID-card photos are kept, sealed: sql (in the database; the default with PostgreSQL/MySQL), s3://bucket/prefix?endpoint=host:port&region=…[&secure=false][&path_style=true] (any S3-compatible store; keys in REALNAME_S3_ACCESS_KEY/SECRET_KEY), or file:// (DATA_DIR/blobs; file:///path for another directory; the default with SQLite); every instance must see the same store"`
	DBMaxConns      int           `env:"DB_MAX_CONNS" yaml:"db_max_conns" help:"connections per instance to PostgreSQL/MySQL (all kept open between bursts); instances × this must stay under the server's max_connections"`
	RedisURL        string        `env:"REDIS_URL" yaml:"redis_url" secret:"true" help:"empty: in-process Redis (not for production); redis://, rediss://, redis-sentinel://, redis-cluster://"`
	RedisPrefix     string        `env:"REDIS_PREFIX" yaml:"redis_prefix" help:"prefix of every Redis key, so several deployments can share one Redis"`
	MasterKey       string        `env:"MASTER_KEY" yaml:"master_key" secret:"true" help:"personal-data key ring: kid:base64(32 bytes)[,kid:base64…], first encrypts; generated in DATA_DIR in development"`
	LogLevel        string        `env:"LOG_LEVEL" yaml:"log_level" help:"debug, info, warn or error"`
	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" yaml:"max_body_bytes" help:"largest JSON request body"`
	MaxUploadBytes  int64         `env:"MAX_UPLOAD_BYTES" yaml:"max_upload_bytes" help:"largest multipart upload (ID-card photos)"`
	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT" yaml:"request_timeout" help:"deadline given to each request's context"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" yaml:"shutdown_timeout" help:"how long in-flight requests and workers get to finish on SIGTERM"`
	Sandbox         bool          `env:"SANDBOX" yaml:"sandbox" help:"serve the in-process upstream fakes and point every client at them"`
	SandboxAddr     string        `env:"SANDBOX_ADDR" yaml:"sandbox_addr" help:"listen address of the sandbox fakes (default: a free loopback port)"`
	TrustedProxies  []string      `env:"TRUSTED_PROXIES" yaml:"trusted_proxies" help:"CIDRs of load balancers whose X-Forwarded-For is believed (client IPs for login rate limits and logs); empty: none"`
	SessionTTL      time.Duration `env:"SESSION_TTL" yaml:"session_ttl" help:"lifetime of a Mini Program session token"`
	SessionsPerUser int           `env:"SESSIONS_PER_USER" yaml:"sessions_per_user" help:"Mini Program sessions one user may hold; a login past it ends their oldest"`

	WeChat   WeChat   `env:"WECHAT_" yaml:"wechat"`
	S3       S3       `env:"S3_" yaml:"s3"`
	Apizero  Apizero  `env:"APIZERO_" yaml:"apizero"`
	Apistore Apistore `env:"APISTORE_" yaml:"apistore"`
	Acedata  Acedata  `env:"ACEDATA_" yaml:"acedata"`

	Policy Policy `env:"POLICY_" yaml:"policy"`
	Admin  Admin  `env:"ADMIN_" yaml:"admin"`

	Timezone           string        `env:"TIMEZONE" yaml:"timezone" help:"IANA zone the staff pages show times, filters and CSV in (the zone is always shown with the time)"`
	Prices             []string      `env:"PRICES" yaml:"prices" help:"what each vendor bills per answered call, in yuan, for the dashboard's cost chart: provider=price,… (e.g. tencent=0.15,acedata=0.05)"`
	ServerAPIRate      int           `env:"SERVER_API_RATE" yaml:"server_api_rate" help:"requests per second each API key may make to /server/v1/ (a burst of twice that), across every instance"`
	APIKeyUseRetention time.Duration `env:"API_KEY_USE_RETENTION" yaml:"api_key_use_retention" help:"how long the record of each API key use is kept"`
	ReviewSLA          time.Duration `env:"REVIEW_SLA" yaml:"review_sla" help:"how long a case may wait in review before the queue marks it overdue"`
	EchoReading        string        `env:"ECHO_READING" yaml:"echo_reading" help:"full: the answer to an upload shows its own user everything read from the card, to check and confirm it (the status, webhooks and logs stay masked); masked: masked there too"`
	ConsentVersion     string        `env:"CONSENT_VERSION" yaml:"consent_version" help:"version of the personal-data notice users must agree to (consent_version in the API)"`
	// Face is the face check (人脸核身) mode: off, required (instead of the
	// paid name/ID check) or fallback (before staff review, where a face
	// check can settle the case). The Mini Program must be granted WeChat's
	// face verification capability.
	Face               string        `env:"FACE" yaml:"face" help:"face verification (人脸核身): off, required (a face check instead of the paid name/ID check) or fallback (offered where the name/ID check would send the case to staff)"`
	FaceConsentVersion string        `env:"FACE_CONSENT_VERSION" yaml:"face_consent_version" help:"version of the face check's notice users must agree to (face.consent_version in the API)"`
	PhotoRetention     time.Duration `env:"PHOTO_RETENTION" yaml:"photo_retention" help:"ID-card photos are deleted this long after the decision"`
	ProviderTimeout    time.Duration `env:"PROVIDER_TIMEOUT" yaml:"provider_timeout" help:"timeout of each OCR or name/ID check vendor call"`
	ImageMemory        int64         `env:"IMAGE_MEMORY" yaml:"image_memory" help:"bytes all photo decoding and scaling may use at once; uploads beyond it wait up to IMAGE_WAIT, then get 503 busy (at least 67108864)"`
	ImageWait          time.Duration `env:"IMAGE_WAIT" yaml:"image_wait" help:"longest an upload waits for room in IMAGE_MEMORY"`
	RateLimitWait      time.Duration `env:"RATE_LIMIT_WAIT" yaml:"rate_limit_wait" help:"longest an OCR call waits for its turn under a vendor's QPS before the chain moves to the next vendor"`
	IDCheckCacheTTL    time.Duration `env:"IDCHECK_CACHE_TTL" yaml:"idcheck_cache_ttl" help:"how long a name/ID verdict is reused instead of paying again (0s: never)"`
	SweepInterval      time.Duration `env:"SWEEP_INTERVAL" yaml:"sweep_interval" help:"how often abandoned verifications expire and old photos are deleted"`

	OCROrder []string `env:"OCR_ORDER" yaml:"ocr_order" help:"OCR providers in the order they are tried; a provider without credentials is skipped"`
	Webhook  Webhook  `env:"WEBHOOK_" yaml:"webhook"`

	IDCheckOrder []string `env:"IDCHECK_ORDER" yaml:"idcheck_order" help:"name/ID verification providers in the order they are tried"`
}

// Admin configures the staff pages under /admin/.
type Admin struct {
	SessionTTL  time.Duration `env:"SESSION_TTL" yaml:"session_ttl" help:"lifetime of a staff session on the admin pages, from sign-in"`
	IdleTimeout time.Duration `env:"IDLE_TIMEOUT" yaml:"idle_timeout" help:"a staff session ends after this long without a request, before its lifetime is up"`
	ClaimTTL    time.Duration `env:"CLAIM_TTL" yaml:"claim_ttl" help:"how long a reviewer's claim on a case holds without a decision"`
	MaxFailures int           `env:"MAX_FAILURES" yaml:"max_failures" help:"failed sign-ins in a row that lock a staff account"`
	LockFor     time.Duration `env:"LOCK_FOR" yaml:"lock_for" help:"how long a locked staff account stays locked"`
	AllowHTTP   bool          `env:"ALLOW_HTTP" yaml:"allow_http" help:"production: a TLS-terminating proxy is in front, so the console may be served at this plain-HTTP listener (the browser counts as on HTTPS unless the proxy's X-Forwarded-Proto says http); without it the console is refused over plain HTTP"`
	RevealTTL   time.Duration `env:"REVEAL_TTL" yaml:"reveal_ttl" help:"how long personal data stays shown to a reviewer after one audited reveal; a reload within it shows, never audits again"`
	// RevealLimit bounds how many cases one staff member reveals per
	// RevealLimitWindow: past it reveals are refused and an alert audited.
	RevealLimit       int           `env:"REVEAL_LIMIT" yaml:"reveal_limit" help:"reveals of personal data per staff member per REALNAME_ADMIN_REVEAL_LIMIT_WINDOW; past it reveals are refused and an alert is written to the audit log"`
	RevealLimitWindow time.Duration `env:"REVEAL_LIMIT_WINDOW" yaml:"reveal_limit_window" help:"the window REALNAME_ADMIN_REVEAL_LIMIT counts over"`
}

// Policy is what the company decides about verification.
type Policy struct {
	AttemptsPerDay int `env:"ATTEMPTS_PER_DAY" yaml:"attempts_per_day" help:"name/ID checks per user per day (China time)"`
	UploadsPerDay  int `env:"UPLOADS_PER_DAY" yaml:"uploads_per_day" help:"photo uploads per user per day"`
	// ChecksPerIDPerDay and IDsPerAccountPerDay count across accounts:
	// nobody can try many names against one known number, or many numbers
	// from many accounts.
	ChecksPerIDPerDay   int           `env:"CHECKS_PER_ID_PER_DAY" yaml:"checks_per_id_per_day" help:"checks of one ID number per day, whichever accounts ask (0: no limit)"`
	IDsPerAccountPerDay int           `env:"IDS_PER_ACCOUNT_PER_DAY" yaml:"ids_per_account_per_day" help:"different ID numbers one account may have checked per day (0: no limit)"`
	GuardianUnder       int           `env:"GUARDIAN_UNDER" yaml:"guardian_under" help:"holders younger go to review as guardian_consent_required without a vendor check (PIPL art. 31: under 14); 0 turns it off"`
	MinAge              int           `env:"MIN_AGE" yaml:"min_age" help:"holders younger than this are rejected (under_min_age); 0 turns it off"`
	RequireBack         bool          `env:"REQUIRE_BACK" yaml:"require_back" help:"the back of the card must be uploaded before submit"`
	AccountsPerID       int           `env:"ACCOUNTS_PER_ID" yaml:"accounts_per_id" help:"accounts one ID number may be verified on; more go to review (id_already_bound)"`
	RefuseExpired       bool          `env:"REFUSE_EXPIRED" yaml:"refuse_expired" help:"reject an expired card (card_expired)"`
	AllowCheck          bool          `env:"ALLOW_CHECK" yaml:"allow_check" help:"open POST /api/v1/verification/check (name and number without photos)"`
	IdleExpiry          time.Duration `env:"IDLE_EXPIRY" yaml:"idle_expiry" help:"unfinished verifications expire after this idle time"`
	StuckChecking       time.Duration `env:"STUCK_CHECKING" yaml:"stuck_checking" help:"a check left in checking this long (its instance crashed mid-decision) goes to review as interrupted; at least 2m, past the decision's own retries"`
}

// Webhook configures the signed callbacks to business systems. The URL and
// secret make the default endpoint; more are added in the admin pages.
type Webhook struct {
	URL           string        `env:"URL" yaml:"url" help:"default endpoint receiving the events (empty: only endpoints added in the admin pages)"`
	Secret        string        `env:"SECRET" yaml:"secret" secret:"true" help:"signing secret of the default endpoint, whsec_<base64 of 24-64 bytes> (realname webhooks secret prints one); a new value is rotated in, the old one keeps signing for ROTATION_GRACE"`
	EventTypes    []string      `env:"EVENT_TYPES" yaml:"event_types" help:"event types the default endpoint receives, e.g. verification.*,user.data_erased (empty: all)"`
	AllowPrivate  bool          `env:"ALLOW_PRIVATE" yaml:"allow_private" help:"offer the per-endpoint private-network switch in production (always offered in development); an endpoint with it may reach RFC 1918 and IPv6 ULA (fc00::/7) addresses, never loopback, link-local, metadata or other special ranges"`
	AllowCIDRs    []string      `env:"ALLOW_CIDRS" yaml:"allow_cidrs" help:"networks or addresses every endpoint may reach even when private or special, e.g. 10.1.0.0/16,192.168.5.7 (a cloud metadata address only when listed as that one host)"`
	Schedule      []string      `env:"SCHEDULE" yaml:"schedule" help:"wait before each retry; after the last one the delivery is marked failed"`
	Timeout       time.Duration `env:"TIMEOUT" yaml:"timeout" help:"timeout of one POST, answer included"`
	Lease         time.Duration `env:"LEASE" yaml:"lease" help:"how long a claimed delivery belongs to its worker before another instance may take it over; at least twice TIMEOUT"`
	Workers       int           `env:"WORKERS" yaml:"workers" help:"delivery workers per instance"`
	BatchSize     int           `env:"BATCH_SIZE" yaml:"batch_size" help:"deliveries a worker claims and sends at once"`
	PollInterval  time.Duration `env:"POLL_INTERVAL" yaml:"poll_interval" help:"how often idle workers look for due deliveries and new events; a commit wakes them at once, so this only covers a lost wake-up"`
	DisableAfter  time.Duration `env:"DISABLE_AFTER" yaml:"disable_after" help:"disable an endpoint whose deliveries all failed for this long (0s: never)"`
	RotationGrace time.Duration `env:"ROTATION_GRACE" yaml:"rotation_grace" help:"how long the previous secret keeps signing after a rotation"`
	Retention     time.Duration `env:"RETENTION" yaml:"retention" help:"how long finished deliveries, their attempts and events are kept for the admin pages and replays (0s: forever)"`
}

// WeChat configures the Mini Program(s) whose users are verified.
type WeChat struct {
	AppID     string      `env:"APPID" yaml:"appid" help:"Mini Program app id; empty (and no apps list) starts the sandbox"`
	Secret    string      `env:"SECRET" yaml:"secret" secret:"true" help:"Mini Program app secret"`
	Apps      []WeChatApp `yaml:"apps" help:"YAML only: several Mini Programs, each {appid, secret}"`
	APIBase   string      `env:"API_BASE" yaml:"api_base" help:"base URL of the WeChat API"`
	TokenMode string      `env:"TOKEN_MODE" yaml:"token_mode" help:"stable (cgi-bin/stable_token) or classic (cgi-bin/token)"`
	// TokenServerSecret turns on the central token endpoint for the
	// company's other services; without it the endpoint does not exist.
	TokenServerSecret string `env:"TOKEN_SERVER_SECRET" yaml:"token_server_secret" secret:"true" help:"shared secret (32+ characters) for GET /internal/v1/wechat/token; empty: the endpoint is off"`
	QPS               int    `env:"QPS" yaml:"qps" help:"OCR calls per second to WeChat, counted across every instance in Redis; 0: no limit of ours"`
	// The subscription message (订阅消息) sent when a review ends.
	ReviewTemplateID     string `env:"REVIEW_TEMPLATE_ID" yaml:"review_template_id" help:"subscription template id of the review result; empty: no message is sent"`
	ReviewTemplateFields string `env:"REVIEW_TEMPLATE_FIELDS" yaml:"review_template_fields" help:"template keyword=source pairs; sources: result, reason, decided_at, name"`
	ReviewPage           string `env:"REVIEW_PAGE" yaml:"review_page" help:"Mini Program page the message opens"`
	MiniprogramState     string `env:"MINIPROGRAM_STATE" yaml:"miniprogram_state" help:"which version the message opens: formal, trial or developer"`
}

// AppList returns every configured Mini Program: the single-app variables
// first, then the YAML apps list.
func (w WeChat) AppList() []WeChatApp {
	var out []WeChatApp
	if w.AppID != "" {
		out = append(out, WeChatApp{AppID: w.AppID, Secret: w.Secret})
	}
	return append(out, w.Apps...)
}

// WeChatApp is one Mini Program's credentials.
type WeChatApp struct {
	AppID  string `yaml:"appid"`
	Secret string `yaml:"secret" secret:"true"`
	// Face overrides REALNAME_FACE for this Mini Program (off, required,
	// fallback): the face capability is granted per Mini Program.
	Face string `yaml:"face"`
}

// S3 holds the credentials of an s3:// blob store.
type S3 struct {
	AccessKey string `env:"ACCESS_KEY" yaml:"access_key" secret:"true" help:"S3 access key id of the photo store"`
	SecretKey string `env:"SECRET_KEY" yaml:"secret_key" secret:"true" help:"S3 secret access key of the photo store"`
}

// Apizero configures the apizero ocr-idcard vendor.
type Apizero struct {
	Key     string `env:"KEY" yaml:"key" secret:"true" help:"apizero API key (X-Api-Key)"`
	BaseURL string `env:"BASE_URL" yaml:"base_url" help:"apizero base URL"`
	QPS     int    `env:"QPS" yaml:"qps" help:"calls per second, counted across every instance in Redis (the vendor allows 2 per key); 0: no limit of ours"`
}

// Apistore configures the API-store 身份证信息识别 vendor.
type Apistore struct {
	AppID  string `env:"APPID" yaml:"appid" help:"API-store appid"`
	Secret string `env:"SECRET" yaml:"secret" secret:"true" help:"API-store signing secret"`
	URL    string `env:"URL" yaml:"url" help:"full API-store endpoint URL (the vendor's document hides it behind a login)"`
	QPS    int    `env:"QPS" yaml:"qps" help:"OCR calls per second, counted across every instance in Redis; 0: no limit of ours"`
}

// Acedata configures the Acedata-style recognition and name/ID check vendor.
type Acedata struct {
	Key     string `env:"KEY" yaml:"key" secret:"true" help:"Acedata API key (authorization header)"`
	BaseURL string `env:"BASE_URL" yaml:"base_url" help:"Acedata base URL"`
	QPS     int    `env:"QPS" yaml:"qps" help:"OCR calls per second, counted across every instance in Redis; 0: no limit of ours"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Env:             EnvDevelopment,
		HTTPAddr:        ":8080",
		DataDir:         "./data",
		RedisPrefix:     "realname:",
		LogLevel:        "info",
		MaxBodyBytes:    64 << 10,
		MaxUploadBytes:  10 << 20,
		RequestTimeout:  30 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		SessionTTL:      12 * time.Hour,
		SessionsPerUser: 5,
		DBMaxConns:      20,
		SandboxAddr:     "127.0.0.1:0",
		WeChat: WeChat{APIBase: "https://api.weixin.qq.com", TokenMode: "stable",
			ReviewTemplateFields: "phrase1=result,thing2=reason,time3=decided_at", ReviewPage: "pages/verify/verify", MiniprogramState: "formal"},
		Policy: Policy{AttemptsPerDay: 5, UploadsPerDay: 20, ChecksPerIDPerDay: 5, IDsPerAccountPerDay: 2, GuardianUnder: 14, RequireBack: true, AccountsPerID: 1,
			RefuseExpired: true, AllowCheck: true, IdleExpiry: 24 * time.Hour, StuckChecking: 10 * time.Minute},
		ConsentVersion:     "v1",
		Face:               "off",
		FaceConsentVersion: "face-v1",
		EchoReading:        "full",
		Timezone:           "Asia/Shanghai",
		ReviewSLA:          4 * time.Hour,
		ServerAPIRate:      20,
		APIKeyUseRetention: 90 * 24 * time.Hour,
		PhotoRetention:     72 * time.Hour,
		ProviderTimeout:    8 * time.Second,
		RateLimitWait:      2 * time.Second,
		ImageMemory:        128 << 20,
		ImageWait:          3 * time.Second,
		Apizero:            Apizero{QPS: 2},
		IDCheckCacheTTL:    24 * time.Hour,
		SweepInterval:      time.Minute,
		Webhook: Webhook{Schedule: []string{"5s", "5m", "30m", "2h", "5h", "10h", "10h"}, Timeout: 10 * time.Second,
			Lease: time.Minute, Workers: 2, BatchSize: 200, PollInterval: 5 * time.Second, DisableAfter: 5 * 24 * time.Hour,
			RotationGrace: 24 * time.Hour, Retention: 30 * 24 * time.Hour},
		OCROrder:     []string{"wechat", "apizero", "apistore", "acedata"},
		IDCheckOrder: []string{"acedata"},
		Admin: Admin{SessionTTL: 8 * time.Hour, IdleTimeout: 30 * time.Minute, ClaimTTL: 30 * time.Minute, MaxFailures: 5, LockFor: 15 * time.Minute,
			RevealTTL: 10 * time.Minute, RevealLimit: 10, RevealLimitWindow: 5 * time.Minute},
	}
}

// Production reports whether dev conveniences must be refused.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// WebhookPrivateNetworks reports whether the webhook endpoints'
// private-network switch is offered: always in development, in production
// only when REALNAME_WEBHOOK_ALLOW_PRIVATE says the operator wants it,
// since it lets whoever edits endpoints reach the company's network.
func (c *Config) WebhookPrivateNetworks() bool { return !c.Production() || c.Webhook.AllowPrivate }

// SandboxMode reports whether the in-process upstream fakes serve: when asked,
// and always when no WeChat credentials are configured outside production.
func (c *Config) SandboxMode() bool {
	return c.Sandbox || (!c.Production() && c.WeChat.AppID == "" && len(c.WeChat.Apps) == 0)
}

// Validate checks values and their combinations, naming the variable at fault.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, Prefix+key+": "+fmt.Sprintf(format, args...))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("ENV", "must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.Env)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("HTTP_ADDR", "not a host:port address: %v", err)
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			bad("PPROF_ADDR", "must be a loopback host:port such as 127.0.0.1:6060 (profiles show request data in memory)")
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("METRICS_ADDR", "not a host:port address: %v", err)
		} else if c.MetricsAddr == c.HTTPAddr {
			bad("METRICS_ADDR", "must differ from REALNAME_HTTP_ADDR (it is a second listener)")
		}
	}
	if _, _, err := net.SplitHostPort(c.SandboxAddr); err != nil {
		bad("SANDBOX_ADDR", "not a host:port address: %v", err)
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || !slices.Contains([]string{"postgres", "postgresql", "mysql", "sqlite"}, u.Scheme) {
			bad("DATABASE_URL", "must be a postgres://, mysql:// or sqlite:// URL")
		}
	}
	if c.BlobURL != "" && c.BlobURL != "sql" {
		u, err := url.Parse(c.BlobURL)
		switch {
		case err != nil || (u.Scheme != "file" && u.Scheme != "s3"):
			bad("BLOB_URL", "must be sql, s3://bucket/prefix?endpoint=host:port or a file:// URL")
		case u.Scheme == "s3" && (u.Host == "" || u.Query().Get("endpoint") == ""):
			bad("BLOB_URL", "an s3:// URL needs a bucket and endpoint=host:port")
		case u.Scheme == "s3" && (c.S3.AccessKey == "" || c.S3.SecretKey == ""):
			bad("S3_ACCESS_KEY", "and REALNAME_S3_SECRET_KEY are required with an s3:// REALNAME_BLOB_URL")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || !slices.Contains([]string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}, u.Scheme) {
			bad("REDIS_URL", "must be a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.MaxBodyBytes < 1<<10 {
		bad("MAX_BODY_BYTES", "must be at least 1024")
	}
	if c.MaxUploadBytes < 1<<20 {
		bad("MAX_UPLOAD_BYTES", "must be at least 1048576 (ID-card photos are often over 1 MB)")
	}
	if c.RequestTimeout <= 0 {
		bad("REQUEST_TIMEOUT", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.SessionsPerUser < 1 || c.SessionsPerUser > 100 {
		bad("SESSIONS_PER_USER", "must be between 1 and 100, got %d", c.SessionsPerUser)
	}
	if c.SessionTTL < time.Minute || c.SessionTTL > 30*24*time.Hour {
		bad("SESSION_TTL", "must be between 1m and 720h, got %v", c.SessionTTL)
	}
	c.validateUpstreams(bad)
	c.validatePolicy(bad)
	if c.DBMaxConns < 2 || c.DBMaxConns > 1000 {
		bad("DB_MAX_CONNS", "must be between 2 and 1000")
	}
	c.validateWebhook(bad)
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
		}
	}
	if c.Admin.IdleTimeout < time.Minute || c.Admin.IdleTimeout > c.Admin.SessionTTL {
		bad("ADMIN_IDLE_TIMEOUT", "must be between 1m and REALNAME_ADMIN_SESSION_TTL, got %v", c.Admin.IdleTimeout)
	}
	if c.Admin.SessionTTL < 5*time.Minute || c.Admin.SessionTTL > 24*time.Hour {
		bad("ADMIN_SESSION_TTL", "must be between 5m and 24h, got %v", c.Admin.SessionTTL)
	}
	if c.Admin.RevealLimit < 1 || c.Admin.RevealLimit > 10000 {
		bad("ADMIN_REVEAL_LIMIT", "must be between 1 and 10000, got %d", c.Admin.RevealLimit)
	}
	if c.Admin.RevealLimitWindow < time.Minute || c.Admin.RevealLimitWindow > 24*time.Hour {
		bad("ADMIN_REVEAL_LIMIT_WINDOW", "must be between 1m and 24h, got %v", c.Admin.RevealLimitWindow)
	}
	if c.Admin.RevealTTL < time.Minute || c.Admin.RevealTTL > 8*time.Hour {
		bad("ADMIN_REVEAL_TTL", "must be between 1m and 8h, got %v", c.Admin.RevealTTL)
	}
	if c.Admin.ClaimTTL < time.Minute || c.Admin.ClaimTTL > 24*time.Hour {
		bad("ADMIN_CLAIM_TTL", "must be between 1m and 24h, got %v", c.Admin.ClaimTTL)
	}
	if c.Admin.MaxFailures < 1 || c.Admin.MaxFailures > 100 {
		bad("ADMIN_MAX_FAILURES", "must be between 1 and 100, got %d", c.Admin.MaxFailures)
	}
	if c.Admin.LockFor < time.Minute || c.Admin.LockFor > 24*time.Hour {
		bad("ADMIN_LOCK_FOR", "must be between 1m and 24h, got %v", c.Admin.LockFor)
	}
	if c.Production() {
		if c.MasterKey == "" {
			bad("MASTER_KEY", "is required in production (personal data cannot be encrypted without it)")
		}
		if c.RedisURL == "" {
			bad("REDIS_URL", "is required in production (the in-process Redis is not shared and not durable)")
		}
		if c.Sandbox {
			bad("SANDBOX", "cannot be on in production")
		}
		if c.WeChat.AppID == "" && len(c.WeChat.Apps) == 0 {
			bad("WECHAT_APPID", "is required in production")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (c *Config) validateUpstreams(bad func(key, format string, args ...any)) {
	if c.WeChat.AppID != "" && c.WeChat.Secret == "" {
		bad("WECHAT_SECRET", "is required when REALNAME_WECHAT_APPID is set")
	}
	seen := map[string]bool{c.WeChat.AppID: c.WeChat.AppID != ""}
	for i, app := range c.WeChat.Apps {
		if app.AppID == "" || app.Secret == "" {
			bad("WECHAT_APPS", "entry %d needs both appid and secret", i)
		}
		if seen[app.AppID] {
			bad("WECHAT_APPS", "app id %q is configured twice", app.AppID)
		}
		seen[app.AppID] = true
	}
	if u, err := url.Parse(c.WeChat.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("WECHAT_API_BASE", "must be an http(s) URL")
	}
	if n := len(c.WeChat.TokenServerSecret); n > 0 && n < 32 {
		bad("WECHAT_TOKEN_SERVER_SECRET", "must be at least 32 characters (it guards the access_token of every app), got %d", n)
	}
	if c.WeChat.TokenMode != "stable" && c.WeChat.TokenMode != "classic" {
		bad("WECHAT_TOKEN_MODE", "must be stable or classic, got %q", c.WeChat.TokenMode)
	}
	if (c.Apistore.AppID == "") != (c.Apistore.Secret == "") {
		bad("APISTORE_SECRET", "REALNAME_APISTORE_APPID and REALNAME_APISTORE_SECRET go together")
	}
	if c.Apistore.AppID != "" && c.Apistore.URL == "" && !c.SandboxMode() {
		bad("APISTORE_URL", "is required when API-store credentials are set")
	}
	for key, raw := range map[string]string{"APIZERO_BASE_URL": c.Apizero.BaseURL, "APISTORE_URL": c.Apistore.URL, "ACEDATA_BASE_URL": c.Acedata.BaseURL} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(key, "must be an http(s) URL")
		}
	}
	checkOrder := func(key string, order, known []string) {
		if len(order) == 0 {
			bad(key, "must name at least one provider")
		}
		for _, p := range order {
			if !slices.Contains(known, p) {
				bad(key, "unknown provider %q (known: %s)", p, strings.Join(known, ", "))
			}
		}
	}
	checkOrder("OCR_ORDER", c.OCROrder, []string{"wechat", "apizero", "apistore", "acedata"})
	checkOrder("IDCHECK_ORDER", c.IDCheckOrder, []string{"acedata"})
}

func (c *Config) validatePolicy(bad func(key, format string, args ...any)) {
	p := c.Policy
	if p.AttemptsPerDay < 1 {
		bad("POLICY_ATTEMPTS_PER_DAY", "must be at least 1")
	}
	if p.UploadsPerDay < 1 {
		bad("POLICY_UPLOADS_PER_DAY", "must be at least 1")
	}
	if p.ChecksPerIDPerDay < 0 || p.IDsPerAccountPerDay < 0 {
		bad("POLICY_CHECKS_PER_ID_PER_DAY", "and POLICY_IDS_PER_ACCOUNT_PER_DAY must not be negative (0 is no limit)")
	}
	if p.GuardianUnder < 0 || p.GuardianUnder > 18 {
		bad("POLICY_GUARDIAN_UNDER", "must be between 0 and 18")
	}
	if p.MinAge < 0 || p.MinAge > 100 {
		bad("POLICY_MIN_AGE", "must be between 0 and 100")
	}
	if p.AccountsPerID < 1 || p.AccountsPerID > 100 {
		bad("POLICY_ACCOUNTS_PER_ID", "must be between 1 and 100")
	}
	if p.IdleExpiry < time.Minute {
		bad("POLICY_IDLE_EXPIRY", "must be at least 1m")
	}
	if p.StuckChecking < 2*time.Minute {
		// A decision is written for up to a minute after the check answers
		// (retried while the database is away); rescuing it sooner would
		// race that write.
		bad("POLICY_STUCK_CHECKING", "must be at least 2m")
	}
	if c.Face != "off" && c.Face != "required" && c.Face != "fallback" {
		bad("FACE", "must be off, required or fallback, got %q", c.Face)
	}
	for _, app := range c.WeChat.Apps {
		if app.Face != "" && app.Face != "off" && app.Face != "required" && app.Face != "fallback" {
			bad("FACE", "app %s: face must be off, required or fallback, got %q", app.AppID, app.Face)
		}
	}
	if c.FaceConsentVersion == "" || len(c.FaceConsentVersion) > 32 {
		bad("FACE_CONSENT_VERSION", "must be 1 to 32 characters")
	}
	if c.ConsentVersion == "" || len(c.ConsentVersion) > 32 {
		bad("CONSENT_VERSION", "must be 1 to 32 characters")
	}
	if c.PhotoRetention < 0 {
		bad("PHOTO_RETENTION", "must not be negative")
	}
	// The shape only: which sources there are is the notification
	// service's to say, and serve asks it before anything opens.
	for _, part := range strings.Split(c.WeChat.ReviewTemplateFields, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); !ok || k == "" || len(k) > 32 || v == "" {
			bad("WECHAT_REVIEW_TEMPLATE_FIELDS", "%q is not keyword=source", part)
		}
	}
	if s := c.WeChat.MiniprogramState; s != "formal" && s != "trial" && s != "developer" {
		bad("WECHAT_MINIPROGRAM_STATE", "must be formal, trial or developer")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || strings.EqualFold(c.Timezone, "local") {
		bad("TIMEZONE", "must be an IANA zone such as Asia/Shanghai, got %q", c.Timezone)
	}
	if _, err := ParsePrices(c.Prices); err != nil {
		bad("PRICES", "%v", err)
	}
	if c.ServerAPIRate < 1 || c.ServerAPIRate > 10000 {
		bad("SERVER_API_RATE", "must be 1 to 10000, got %d", c.ServerAPIRate)
	}
	if c.APIKeyUseRetention < time.Hour {
		bad("API_KEY_USE_RETENTION", "must be at least 1h, got %v", c.APIKeyUseRetention)
	}
	if c.ReviewSLA < time.Minute || c.ReviewSLA > 30*24*time.Hour {
		bad("REVIEW_SLA", "must be between 1m and 720h, got %v", c.ReviewSLA)
	}
	if c.EchoReading != "full" && c.EchoReading != "masked" {
		bad("ECHO_READING", "must be full or masked")
	}
	if c.ImageMemory < 64<<20 {
		bad("IMAGE_MEMORY", "must be at least 67108864 (64 MiB: the largest photo the intake decodes)")
	}
	if c.ImageWait < 0 || c.ImageWait > time.Minute {
		bad("IMAGE_WAIT", "must be between 0s and 1m")
	}
	if c.RateLimitWait < 0 || c.RateLimitWait > time.Minute {
		bad("RATE_LIMIT_WAIT", "must be between 0s and 1m")
	}
	for key, qps := range map[string]int{"WECHAT_QPS": c.WeChat.QPS, "APIZERO_QPS": c.Apizero.QPS, "APISTORE_QPS": c.Apistore.QPS, "ACEDATA_QPS": c.Acedata.QPS} {
		if qps < 0 || qps > 10000 {
			bad(key, "must be between 0 (no limit of ours) and 10000")
		}
	}
	if c.ProviderTimeout < 100*time.Millisecond || c.ProviderTimeout > time.Minute {
		bad("PROVIDER_TIMEOUT", "must be between 100ms and 1m")
	}
	if c.IDCheckCacheTTL < 0 {
		bad("IDCHECK_CACHE_TTL", "must not be negative")
	}
	if c.SweepInterval < time.Second {
		bad("SWEEP_INTERVAL", "must be at least 1s")
	}
}

func (c *Config) validateWebhook(bad func(key, format string, args ...any)) {
	w := c.Webhook
	if w.URL != "" {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			bad("WEBHOOK_URL", "must be an http(s) URL without credentials")
		}
		if !strings.HasPrefix(w.Secret, "whsec_") {
			bad("WEBHOOK_SECRET", "is required with REALNAME_WEBHOOK_URL and starts with whsec_ (realname webhooks secret prints one)")
		}
	}
	if len(w.Schedule) == 0 {
		bad("WEBHOOK_SCHEDULE", "must have at least one entry")
	}
	for _, e := range w.Schedule {
		if d, err := time.ParseDuration(e); err != nil || d <= 0 {
			bad("WEBHOOK_SCHEDULE", "entry %q is not a positive duration", e)
		}
	}
	for _, e := range w.AllowCIDRs {
		e = strings.TrimSpace(e)
		p, err := netip.ParsePrefix(e)
		if err != nil {
			if _, err := netip.ParseAddr(e); err != nil {
				bad("WEBHOOK_ALLOW_CIDRS", "%q is neither a CIDR prefix nor an IP address", e)
			}
			continue
		}
		// An entry this wide is not a receiver's network: it would switch
		// the guard off for loopback and the special ranges altogether.
		if (p.Addr().Is4() && p.Bits() < 8) || (!p.Addr().Is4() && p.Bits() < 7) {
			bad("WEBHOOK_ALLOW_CIDRS", "%q is too wide (at least /8 for IPv4, /7 for IPv6); list the receivers' networks", e)
		}
	}
	if w.Timeout < time.Second || w.Timeout > 2*time.Minute {
		bad("WEBHOOK_TIMEOUT", "must be between 1s and 2m")
	}
	if w.Lease < 2*w.Timeout {
		bad("WEBHOOK_LEASE", "must be at least twice REALNAME_WEBHOOK_TIMEOUT (a live worker must never lose its lease)")
	}
	if w.Workers < 1 || w.Workers > 64 {
		bad("WEBHOOK_WORKERS", "must be between 1 and 64")
	}
	if w.BatchSize < 1 || w.BatchSize > 1000 {
		bad("WEBHOOK_BATCH_SIZE", "must be between 1 and 1000")
	}
	if w.PollInterval < 10*time.Millisecond {
		bad("WEBHOOK_POLL_INTERVAL", "must be at least 10ms")
	}
	if w.DisableAfter < 0 || w.RotationGrace < 0 {
		bad("WEBHOOK_DISABLE_AFTER", "durations must not be negative")
	}
	if w.Retention != 0 && w.Retention < 48*time.Hour {
		// Shorter than the retry schedule's ~28 hours, history would vanish
		// while business systems still ask about recent deliveries.
		bad("WEBHOOK_RETENTION", "must be 0s (forever) or at least 48h")
	}
}

// ParsePrices reads PRICES entries (provider=yuan) into a map; a bad entry,
// a negative price or a provider named twice is an error.
func ParsePrices(entries []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, e := range entries {
		name, price, ok := strings.Cut(strings.TrimSpace(e), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not provider=price", e)
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(price), 64)
		if err != nil || p < 0 || p > 1000 || math.IsNaN(p) {
			return nil, fmt.Errorf("%q: the price must be a number of yuan from 0 to 1000", e)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s is priced twice", name)
		}
		out[name] = p
	}
	return out, nil
}
