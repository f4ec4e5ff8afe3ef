package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"realname/config"
	"realname/sandbox"
	"realname/service/clock"
	"realname/service/face"
	"realname/service/idcheck"
	"realname/service/ocr"
	"realname/service/pii"
	"realname/service/ratelimit"
	"realname/service/redisconn"
	"realname/service/store"
	"realname/service/token"
	"realname/service/tracing"
	"realname/service/verify"
	"realname/service/wechat"
)

// flowDeps is what buildFlow assembles the verification flow from.
type flowDeps struct {
	Config     config.Config
	Store      *store.Store
	Photos     verify.Photos
	Redis      *redisconn.Conn
	Ring       *pii.KeyRing
	Tokens     *token.Service
	WeChatBase string // WeChat's API (the sandbox's in sandbox mode)
	SandboxURL string // "" outside sandbox mode
	AppID      string // the default Mini Program, whose token the OCR uses
	Clock      clock.Clock
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Tracing    *tracing.Provider // spans of the vendor calls and the sweeper
}

// buildFlow assembles the verification flow: the OCR and name/ID chains in
// the configured order (a vendor only when its credentials are set; all of
// them, at the sandbox, in sandbox mode), the photo store and the policy.
func buildFlow(d flowDeps) (*verify.Service, error) {
	cfg, log, reg := d.Config, d.Log, d.Registry
	if d.SandboxURL != "" {
		cfg.Apizero = config.Apizero{Key: sandbox.SandboxApizeroKey, BaseURL: d.SandboxURL + sandbox.ApizeroPrefix, QPS: cfg.Apizero.QPS}
		cfg.Apistore = config.Apistore{AppID: sandbox.SandboxApistoreAppID, Secret: sandbox.SandboxApistoreSecret, URL: d.SandboxURL + sandbox.ApistoreEndpoint, QPS: cfg.Apistore.QPS}
		cfg.Acedata = config.Acedata{Key: sandbox.SandboxAcedataKey, BaseURL: d.SandboxURL + "/acedata", QPS: cfg.Acedata.QPS}
	}
	// One transport for the vendor clients, keeping more than Go's default
	// two idle connections per host: otherwise most calls under load pay a
	// new TCP and TLS handshake. The chain's per-call deadline rules; the
	// client timeout is a backstop.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	vendorClient := &http.Client{Timeout: 2 * cfg.ProviderTimeout, Transport: d.Tracing.Transport(tr)}
	ocrs, err := ocrProviders(cfg, d, vendorClient)
	if err != nil {
		return nil, err
	}
	var checks []idcheck.Provider
	for _, name := range cfg.IDCheckOrder {
		if name == "acedata" && cfg.Acedata.Key != "" {
			p, err := idcheck.NewAcedata(cfg.Acedata.BaseURL, cfg.Acedata.Key, vendorClient)
			if err != nil {
				return nil, err
			}
			checks = append(checks, p)
		}
	}
	if len(checks) == 0 {
		log.Warn("no name/ID check provider has credentials: every submission goes to manual review")
	}
	ocrChain := ocr.NewChain(ocrs, ocr.ChainOptions{Timeout: cfg.ProviderTimeout, Tracer: d.Tracing.TracerProvider()}, log, reg)
	cacheTTL := cfg.IDCheckCacheTTL
	if cacheTTL == 0 {
		cacheTTL = -1 // the chain's "no cache"
	}
	checkChain := idcheck.NewChain(idcheck.ChainDeps{Providers: checks, Redis: d.Redis.Client, Prefix: d.Redis.Prefix, Hash: d.Ring,
		Options: idcheck.ChainOptions{Timeout: cfg.ProviderTimeout, CacheTTL: cacheTTL, Tracer: d.Tracing.TracerProvider()}, Log: log, Registry: reg})
	log.Info("verification providers", "ocr", ocrChain.Providers(), "idcheck", checkChain.Providers())
	policy, faceOn := flowPolicy(cfg)
	budget := ocr.NewBudget(cfg.ImageMemory, cfg.ImageWait)
	if err := budget.Register(reg); err != nil {
		return nil, err
	}
	deps := verify.Deps{Store: d.Store, Redis: d.Redis.Client, Prefix: d.Redis.Prefix, OCR: ocrChain,
		Intake: ocr.NewIntake(ocr.IntakeLimits{}, budget), Check: checkChain,
		Crypto: d.Ring, Photos: d.Photos, Policy: policy, Clock: d.Clock, Log: log}
	if faceOn {
		f, err := wechat.NewFace(d.WeChatBase, vendorClient, d.Tokens)
		if err != nil {
			return nil, err
		}
		deps.StepUps = verify.StepUpCounter()
		reg.MustRegister(deps.StepUps)
		deps.Face = face.NewMetered(face.NewTraced(wechat.NewFaceProvider(f, d.Clock), d.Tracing.TracerProvider()), reg)
		log.Info("face verification on", "mode", cfg.Face, "by_app", policy.FaceByApp, "provider", wechat.FaceName)
	}
	return verify.New(deps).WithTracer(d.Tracing.TracerProvider()), nil
}

// ocrProviders are the OCR vendors in the configured order, each with its
// QPS, counted in Redis for all instances together (a vendor's limit is per
// API key): a call whose turn is too far off moves on.
func ocrProviders(cfg config.Config, d flowDeps, client *http.Client) ([]ocr.Provider, error) {
	orDefault := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	var ocrs []ocr.Provider
	for _, name := range cfg.OCROrder {
		switch {
		case name == "wechat":
			p, err := wechat.NewOCR(d.WeChatBase, client, d.AppID, d.Tokens)
			if err != nil {
				return nil, err
			}
			ocrs = append(ocrs, p)
		case name == "apizero" && cfg.Apizero.Key != "":
			ocrs = append(ocrs, ocr.NewApizero(orDefault(cfg.Apizero.BaseURL, ocr.ApizeroDefaultBase), cfg.Apizero.Key, client))
		case name == "apistore" && cfg.Apistore.AppID != "":
			ocrs = append(ocrs, ocr.NewApistore(cfg.Apistore.URL, cfg.Apistore.AppID, cfg.Apistore.Secret, client))
		case name == "acedata" && cfg.Acedata.Key != "":
			p, err := ocr.NewAcedata(cfg.Acedata.BaseURL, cfg.Acedata.Key, client)
			if err != nil {
				return nil, err
			}
			ocrs = append(ocrs, p)
		}
	}
	qps := map[string]int{wechat.OCRName: cfg.WeChat.QPS, ocr.ApizeroName: cfg.Apizero.QPS, ocr.ApistoreName: cfg.Apistore.QPS, ocr.AcedataName: cfg.Acedata.QPS}
	for i, p := range ocrs {
		if n := qps[p.Name()]; n > 0 {
			ocrs[i] = ocr.Throttled(p, ratelimit.New(d.Redis.Client, d.Redis.Prefix+"ratelimit:{"+p.Name()+"}", n, cfg.RateLimitWait))
		}
	}
	return ocrs, nil
}

// flowPolicy is the company's policy as configured, and whether any app
// uses face checks.
func flowPolicy(cfg config.Config) (verify.Policy, bool) {
	policy := verify.DefaultPolicy()
	policy.AttemptsPerDay, policy.UploadsPerDay, policy.MinAge = cfg.Policy.AttemptsPerDay, cfg.Policy.UploadsPerDay, cfg.Policy.MinAge
	policy.ChecksPerIDPerDay, policy.IDsPerAccountPerDay = cfg.Policy.ChecksPerIDPerDay, cfg.Policy.IDsPerAccountPerDay
	policy.GuardianUnder, policy.EchoReading = cfg.Policy.GuardianUnder, cfg.EchoReading
	policy.RequireBack, policy.AccountsPerID, policy.RefuseExpired = cfg.Policy.RequireBack, cfg.Policy.AccountsPerID, cfg.Policy.RefuseExpired
	policy.AllowCheck, policy.IdleExpiry, policy.StuckChecking = cfg.Policy.AllowCheck, cfg.Policy.IdleExpiry, cfg.Policy.StuckChecking
	policy.ConsentVersion, policy.PhotoRetention = cfg.ConsentVersion, cfg.PhotoRetention
	policy.Face, policy.FaceConsentVersion = cfg.Face, cfg.FaceConsentVersion
	faceOn := cfg.Face != verify.FaceOff
	for _, app := range cfg.WeChat.Apps {
		if app.Face != "" {
			if policy.FaceByApp == nil {
				policy.FaceByApp = map[string]string{}
			}
			policy.FaceByApp[app.AppID] = app.Face
			faceOn = faceOn || app.Face != verify.FaceOff
		}
	}
	return policy, faceOn
}
