package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"realname/model"
	"realname/service/admin"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/review"
	"realname/service/token"
	"realname/service/webhook"
	"realname/web"
)

// AdminDeps are the services behind the staff pages under /admin/.
type AdminDeps struct {
	Accounts AdminAccounts
	Review   AdminReview
	Webhooks WebhookAdmin // nil: the webhook pages say webhooks are not configured
	Tokens   TokenStatus  // nil: the dashboard leaves the token section out
	// CSRFKey signs the CSRF cookie: 32 bytes, the same on every instance
	// (main derives it from the master key ring).
	CSRFKey []byte
	// Clock is the process's clock, against which stored times (lock-outs,
	// replay windows) are compared; the wall clock when nil.
	Clock clock.Clock
	// Catalog holds the pages' words and time zone (REALNAME_TIMEZONE);
	// nil: the built-in catalogs in China time.
	Catalog *web.Catalog
	// ReviewSLA is how long a case may wait in review before the queue
	// marks it overdue (REALNAME_REVIEW_SLA); 4h when zero.
	ReviewSLA time.Duration
	// RevealTTL is how long a reveal shows the personal data before it
	// must be asked (and audited) again; 10 minutes when zero.
	RevealTTL time.Duration
	// Prices is what each vendor bills per answered call, in yuan
	// (REALNAME_PRICES), for the dashboard's cost chart.
	Prices map[string]float64
	// WebhookCIDRs are the private networks every endpoint may reach
	// (REALNAME_WEBHOOK_ALLOW_CIDRS), shown on the webhooks page.
	WebhookCIDRs []string
	// APIKeys manages the server API's keys on /admin/apikeys; nil leaves
	// the page saying so.
	APIKeys AdminAPIKeys
}

// AdminAPIKeys is the server API's keys as admins manage them (apikey.Service).
type AdminAPIKeys interface {
	List(ctx context.Context) ([]apikey.Key, error)
	Find(ctx context.Context, id int64) (apikey.Key, error)
	Create(ctx context.Context, name string, scopes []string, app, actor string) (apikey.Key, string, error)
	Apps() []string
	Revoke(ctx context.Context, id int64, actor string) error
	Uses(ctx context.Context, id int64, limit int) ([]model.APIKeyUse, error)
	Refusals(ctx context.Context, id int64, limit int) ([]model.APIKeyRefusal, error)
}

// AdminAccounts is staff sign-in and account management (admin.Service).
type AdminAccounts interface {
	Login(ctx context.Context, username, password, ip string) (string, admin.Session, error)
	Session(ctx context.Context, token string) (admin.Session, error)
	Logout(ctx context.Context, token string) error
	SessionTTL() time.Duration
	List(ctx context.Context) ([]model.AdminUser, error)
	Create(ctx context.Context, username, password, role, actor string) (model.AdminUser, error)
	SetDisabled(ctx context.Context, id int64, disabled bool, actor string) error
	Unlock(ctx context.Context, id int64, actor string) error
	SetLanguage(ctx context.Context, id int64, lang string) error
}

// AdminReview is the queue, case file, decisions and audit (review.Service).
type AdminReview interface {
	Queue(ctx context.Context, f review.QueueFilter) (review.QueuePage, error)
	Case(ctx context.Context, vid int64) (review.Case, error)
	// CaseFor is the case as the reviewer may see it now: revealed within
	// the window of their last audited reveal, masked otherwise.
	CaseFor(ctx context.Context, vid, adminID int64) (review.Case, error)
	// Reveal opens the case for who: their own claimed case in review, or,
	// for an admin, any case with a stated reason; rate-limited, audited.
	Reveal(ctx context.Context, vid int64, who review.Staff, reason string) (review.Case, error)
	// SearchNumber finds the cases of a full ID number, audited by its
	// keyed hash.
	SearchNumber(ctx context.Context, adminID int64, number string) (review.QueuePage, error)
	Photo(ctx context.Context, vid, adminID int64, side string) ([]byte, error)
	Claim(ctx context.Context, vid, adminID int64) error
	Release(ctx context.Context, vid, adminID int64) error
	Approve(ctx context.Context, vid, adminID int64, note string) (review.Outcome, error)
	Reject(ctx context.Context, vid, adminID int64, reason, note string) (review.Outcome, error)
	RequestResubmit(ctx context.Context, vid, adminID int64, note string) (review.Outcome, error)
	Dashboard(ctx context.Context) (review.Dashboard, error)
	Trends(ctx context.Context, days int, sla time.Duration) (review.Trends, error)
	AuditLog(ctx context.Context, f review.AuditFilter) (review.AuditPage, error)
	WriteAuditCSV(ctx context.Context, w io.Writer, f review.AuditFilter) error
	RecordStaffAction(ctx context.Context, adminID int64, typ string, data map[string]any) error
}

// WebhookAdmin is what the webhook pages need from the webhook service
// (*webhook.Service), in the service's own view types.
type WebhookAdmin interface {
	Endpoints(ctx context.Context) ([]webhook.Endpoint, error)
	// CreateEndpoint adds an endpoint and returns its signing secret, shown once.
	CreateEndpoint(ctx context.Context, spec webhook.EndpointSpec) (webhook.Endpoint, string, error)
	// SetAllowPrivate lets the endpoint reach private (RFC 1918, ULA)
	// addresses, or stops it; refused when PrivateNetworks is false.
	SetAllowPrivate(ctx context.Context, id int64, allow bool) error
	// PrivateNetworks reports whether configuration offers the switch.
	PrivateNetworks() bool
	// Ping queues a signed test event (type ping) for the endpoint alone.
	Ping(ctx context.Context, id int64) (string, error)
	DisableEndpoint(ctx context.Context, id int64, reason string) error
	EnableEndpoint(ctx context.Context, id int64) error
	// RotateSecret makes a new secret and returns it, shown once.
	RotateSecret(ctx context.Context, id int64) (string, error)
	Deliveries(ctx context.Context, f webhook.DeliveryFilter) ([]webhook.Delivery, error)
	DeliveryAttempts(ctx context.Context, id int64) (webhook.Delivery, []webhook.Attempt, error)
	Replay(ctx context.Context, deliveryID int64) error
	// ReplaySince queues again the endpoint's failed deliveries created
	// since, and the events it missed.
	ReplaySince(ctx context.Context, endpointID int64, since time.Time) (webhook.ReplayResult, error)
}

// TokenStatus reports the WeChat access tokens (token.Service).
type TokenStatus interface {
	Status() []token.Status
}

// adminTemplates are the views the pages render; mountAdmin refuses to
// start without any of them.
var adminTemplates = []string{"admin_login.html", "admin_queue.html", "admin_case.html", "admin_dashboard.html",
	"admin_audit.html", "admin_accounts.html", "admin_webhooks.html", "admin_deliveries.html", "admin_error.html", "admin_apikeys.html"}

// adminPages holds what the admin handlers share.
type adminPages struct {
	log       *slog.Logger
	templates *template.Template
	accounts  AdminAccounts
	review    AdminReview
	webhooks  WebhookAdmin
	tokens    TokenStatus
	clock     clock.Clock
	catalog   *web.Catalog
	sla       time.Duration
	revealTTL time.Duration
	prices    map[string]float64
	cidrs     []string
	keys      AdminAPIKeys
	tls       TLSPolicy
	reasons   []string // the reason codes the catalogs have words for: the queue's filter
	css, js   string   // static URLs with a content hash
}

// mountAdmin registers the staff pages under /admin/. Every route but the
// login page needs a session; admin-only routes also need the admin role;
// every POST needs the CSRF token.
func mountAdmin(r *gin.Engine, d Deps, a AdminDeps) {
	for _, name := range adminTemplates {
		if d.Templates.Lookup(name) == nil {
			panic(fmt.Sprintf("handler: admin view %s is missing", name))
		}
	}
	if a.Clock == nil {
		a.Clock = clock.System{}
	}
	if a.ReviewSLA <= 0 {
		a.ReviewSLA = 4 * time.Hour
	}
	if a.RevealTTL <= 0 {
		a.RevealTTL = 10 * time.Minute
	}
	if a.Catalog == nil {
		cat, err := web.NewCatalog(clock.China())
		if err != nil {
			panic(fmt.Sprintf("handler: %v", err))
		}
		a.Catalog = cat
	}
	p := &adminPages{log: d.Log.With("component", "admin"), templates: d.Templates, accounts: a.Accounts, review: a.Review,
		webhooks: a.Webhooks, tokens: a.Tokens, clock: a.Clock, catalog: a.Catalog, sla: a.ReviewSLA, revealTTL: a.RevealTTL, prices: a.Prices, cidrs: a.WebhookCIDRs, keys: a.APIKeys, tls: d.TLS, reasons: a.Catalog.Codes("reason"), css: assetURL(d.Static, "admin.css"), js: assetURL(d.Static, "admin.js")}
	g := r.Group("/admin", adminHeaders, p.requireTLS, p.csrf(a.CSRFKey))
	g.GET("/login", p.loginPage)
	g.POST("/login", p.login)

	staff := g.Group("", p.authenticate)
	staff.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/") })
	staff.GET("/", p.queue)
	staff.POST("/search", p.search)
	staff.POST("/logout", p.logout)
	staff.POST("/language", p.setLanguage)
	staff.GET("/dashboard", p.dashboard)
	staff.GET("/cases/:id", p.showCase)
	staff.POST("/cases/:id/reveal", p.reveal)
	staff.GET("/cases/:id/photos/:side", p.photo)
	staff.POST("/cases/:id/claim", p.claim)
	staff.POST("/cases/:id/release", p.release)
	staff.POST("/cases/:id/approve", p.approve)
	staff.POST("/cases/:id/reject", p.reject)
	staff.POST("/cases/:id/resubmit", p.resubmit)

	admins := staff.Group("", p.requireAdmin)
	admins.GET("/audit", p.audit)
	admins.GET("/audit.csv", p.auditCSV)
	admins.GET("/accounts", p.accountsPage)
	admins.POST("/accounts", p.createAccount)
	admins.POST("/accounts/:id/disable", p.disableAccount)
	admins.POST("/accounts/:id/enable", p.enableAccount)
	admins.POST("/accounts/:id/unlock", p.unlockAccount)
	admins.GET("/webhooks", p.webhooksPage)
	admins.POST("/webhooks", p.createEndpoint)
	admins.POST("/webhooks/:id/disable", p.disableEndpoint)
	admins.POST("/webhooks/:id/enable", p.enableEndpoint)
	admins.POST("/webhooks/:id/rotate", p.rotateSecret)
	admins.POST("/webhooks/:id/ping", p.pingEndpoint)
	admins.POST("/webhooks/:id/network", p.endpointNetwork)
	admins.POST("/webhooks/:id/replay-failed", p.replayFailed)
	admins.GET("/apikeys", p.apiKeysPage)
	admins.POST("/apikeys", p.createAPIKey)
	admins.GET("/apikeys/:id", p.apiKeyPage)
	admins.POST("/apikeys/:id/revoke", p.revokeAPIKey)
	admins.GET("/webhooks/deliveries", p.deliveries)
	admins.GET("/webhooks/deliveries/:id", p.delivery)
	admins.POST("/webhooks/deliveries/:id/replay", p.replayDelivery)
}

// adminHeaders keeps staff pages out of caches and frames and allows
// scripts and styles only from our own static files.
func adminHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Next()
}

// assetURL is a static file's URL with a hash of its content, so a new
// release is never served from a stale cache.
func assetURL(static fs.FS, name string) string {
	b, err := fs.ReadFile(static, name)
	if err != nil {
		panic(fmt.Sprintf("handler: static %s is missing: %v", name, err))
	}
	sum := sha256.Sum256(b)
	return "/static/" + name + "?v=" + hex.EncodeToString(sum[:4])
}
