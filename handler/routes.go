// Package handler is the HTTP surface: the gin engine, its middleware, and
// thin handlers that parse a request, call one service method and render.
package handler

import (
	"crypto/sha256"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"realname/service/tracing"
	"realname/service/wording"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Deps is what the router needs, passed in explicitly by main.
type Deps struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	Checks   map[string]Check // readiness checks by dependency name
	// Disk, when set, learns of writes that failed for a full disk (its
	// Check belongs in Checks as "disk").
	Disk           *DiskWatch
	Version        string
	MaxBodyBytes   int64
	MaxUploadBytes int64
	RequestTimeout time.Duration
	Templates      *template.Template // from web.Templates
	Static         fs.FS              // from web.Static
	SandboxURL     string             // non-empty in sandbox mode
	Login          Login              // nil: the Mini Program API is not mounted
	Sessions       Sessions
	Verify         Verifier    // nil: the verification routes are not mounted
	Idempotency    Idempotency // nil: Idempotency-Key is ignored
	// Tokens and TokenServerSecret mount the central token endpoint;
	// without a secret it does not exist.
	Tokens            Tokens
	TokenServerSecret string
	DefaultAppID      string
	ConsentVersion    string   // current personal-data notice version, shown by /demo
	TrustedProxies    []string // CIDRs whose X-Forwarded-For is believed; none by default
	// Admin mounts the staff pages under /admin/; nil leaves them out.
	Admin *AdminDeps
	// Server mounts the server API for business systems under /server/v1/;
	// nil leaves it out.
	Server *ServerAPI
	// TLS judges whether a browser is on HTTPS: HSTS, Secure cookies and
	// whether the console is served at all.
	TLS TLSPolicy
	// MetricsElsewhere leaves /metrics off this router, because it is
	// served on its own listener (REALNAME_METRICS_ADDR).
	MetricsElsewhere bool
	// Tracing starts a span per request (tracing.go); nil or off: none.
	Tracing *tracing.Provider
}

// New builds the engine with every route of the service.
func New(d Deps) *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true // c.Done()/c.Err() follow the request context
	r.RedirectTrailingSlash = false
	r.RemoveExtraSlash = true
	// gin trusts every proxy by default, so anyone could pick their
	// ClientIP (and dodge per-address login limits) with X-Forwarded-For.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		d.Log.Error("bad trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	metrics := newHTTPMetrics(d.Registry)
	d.Registry.MustRegister(newReadinessCollector(d.Checks, d.Log))
	if mw := traceRequests(d.Tracing); mw != nil {
		r.Use(mw)
	}
	r.Use(requestID(), securityHeaders(d.TLS), recovery(d.Log), accessLog(d.Log), metrics.middleware(),
		bodyLimit(d.MaxBodyBytes, d.MaxUploadBytes), validText(), deadline(d.RequestTimeout))
	if d.Disk != nil {
		r.Use(watchDisk(d.Disk))
	}

	r.NoRoute(func(c *gin.Context) {
		abortWithError(c, http.StatusNotFound, CodeNotFound, "no such route")
	})
	r.NoMethod(func(c *gin.Context) {
		abortWithError(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this route")
	})

	r.GET("/healthz", healthz(d.Version))
	r.GET("/readyz", readyz(d.Checks, d.Log))
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		if err := d.Templates.ExecuteTemplate(c.Writer, "index.html", gin.H{
			"Version": d.Version, "Sandbox": d.SandboxURL != "", "SandboxURL": d.SandboxURL,
			"Lang": string(wording.FromAcceptLanguage(c.GetHeader("Accept-Language"))),
		}); err != nil {
			d.Log.Error("render index", "err", err)
		}
	})
	r.GET("/static/*filepath", staticFiles(d.Static))
	r.HEAD("/static/*filepath", staticFiles(d.Static))
	if d.Login != nil {
		a := &api{log: d.Log, login: d.Login, sessions: d.Sessions, verify: d.Verify, idem: d.Idempotency}
		r.POST("/api/v1/session", a.createSession)
		v1 := r.Group("/api/v1", a.requireSession)
		v1.GET("/session", a.showSession)
		v1.DELETE("/session", a.deleteSession)
		v1.DELETE("/sessions", a.deleteSessions)
		if d.Verify != nil {
			idem := idempotent(d.Idempotency)
			v1.POST("/verification/idcard", idem, a.uploadIDCard)
			v1.POST("/verification/submit", idem, a.submit)
			v1.POST("/verification/check", idem, a.check)
			v1.POST("/verification/face", idem, a.startFace)
			v1.POST("/verification/face/result", a.faceResult)
			v1.POST("/verification/face/decline", a.declineFace)
			v1.GET("/stepups/:id", a.userStepUp)
			v1.POST("/stepups/:id/face", a.startStepUpFace)
			v1.POST("/stepups/:id/result", a.stepUpResult)
			v1.GET("/verification", a.current)
			v1.DELETE("/verification", a.erase)
		}
	}
	if d.Server != nil {
		mountServerAPI(r, d)
	}
	if d.SandboxURL != "" && d.Login != nil && d.Verify != nil {
		mountDemo(r, d.Log, d.Templates, d.ConsentVersion, d.SandboxURL)
	}
	if d.Tokens != nil && d.TokenServerSecret != "" {
		t := &tokenServer{log: d.Log, tokens: d.Tokens, secretHash: sha256.Sum256([]byte(d.TokenServerSecret)), defaultApp: d.DefaultAppID}
		in := r.Group("/internal/v1/wechat", t.authorize)
		in.GET("/token", t.get)
		in.POST("/token/invalidate", t.invalidate)
	}
	if d.Admin != nil {
		mountAdmin(r, d, *d.Admin)
	}
	if !d.MetricsElsewhere {
		r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{Registry: d.Registry})))
	}
	return r
}
