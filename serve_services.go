package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"realname/handler"
	"realname/service/admin"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/idempotency"
	"realname/service/login"
	"realname/service/notify"
	"realname/service/review"
	"realname/service/session"
	"realname/service/token"
	"realname/service/verify"
	"realname/service/wake"
	"realname/service/webhook"
	"realname/service/wechat"
	"realname/web"
)

// services are the process's services, built over its base.
type services struct {
	tokens   *token.Service
	sessions *session.Store
	logins   *login.Service
	flow     *verify.Service
	hooks    *webhook.Service
	accounts *admin.Service
	keys     *apikey.Service
	reviews  *review.Service
	courier  *notify.Courier // nil: users are not told of review results
}

// buildServices builds the services; none runs yet (assemble adds their
// workers to the group).
func buildServices(ctx context.Context, b *base, up upstreams, set settings) (*services, error) {
	cfg, log := b.cfg, b.log
	wechat.RedirectSDK(up.apiBase)
	tokenApps := make([]token.App, len(up.apps))
	wxApps := make([]wechat.App, len(up.apps))
	for i, a := range up.apps {
		tokenApps[i] = token.App{AppID: a.AppID, Secret: a.Secret}
		wxApps[i] = wechat.App{AppID: a.AppID, Secret: a.Secret}
	}
	s := &services{}
	s.tokens = token.New(token.Deps{Redis: b.rdb.Client, Prefix: b.rdb.Prefix, Apps: tokenApps,
		Fetch: token.NewTraced(token.NewWeChatFetcher(up.apiBase, cfg.WeChat.TokenMode), b.tr.TracerProvider()), Log: log, Registry: b.reg})
	s.sessions = session.NewStore(b.rdb.Client, b.rdb.Prefix, cfg.SessionTTL, cfg.SessionsPerUser)
	wx := wechat.NewTraced(wechat.NewClient(wxApps, s.tokens), b.tr.TracerProvider())
	s.logins = login.New(b.st, wx, s.sessions, b.ring, up.apps[0].AppID)
	photos, err := openPhotos(ctx, cfg, b.db, b.st, b.ring, b.clk)
	if err != nil {
		return nil, err
	}
	s.flow, err = buildFlow(flowDeps{Config: cfg, Store: b.st, Photos: photos.flow, Redis: b.rdb, Ring: b.ring, Tokens: s.tokens,
		WeChatBase: up.apiBase, SandboxURL: up.sandboxURL, AppID: up.apps[0].AppID, Clock: b.clk, Log: log, Registry: b.reg, Tracing: b.tr})
	if err != nil {
		return nil, err
	}
	if s.hooks, err = buildWebhooks(ctx, b); err != nil {
		return nil, err
	}
	s.hooks.WakeOn(b.wakes.Line(wake.Outbox), b.wakes.Line(wake.Deliveries))
	s.hooks.FeedOn(b.wakes.Line(wake.Feed))
	s.hooks.TraceWith(b.tr.TracerProvider())
	s.accounts, err = admin.New(b.db, b.st, b.rdb.Client, b.rdb.Prefix, admin.Options{Clock: b.clk, SessionTTL: cfg.Admin.SessionTTL,
		IdleTimeout: cfg.Admin.IdleTimeout, MaxFailures: cfg.Admin.MaxFailures, LockFor: cfg.Admin.LockFor}, log)
	if err != nil {
		return nil, err
	}
	if set.notify != nil {
		s.courier = notify.NewCourier(b.st, wx, *set.notify, b.clk, log)
	}
	s.keys = apikey.New(apikey.Deps{DB: b.db, Trail: b.st, Redis: b.rdb.Client, Prefix: b.rdb.Prefix, PerSecond: cfg.ServerAPIRate, Apps: appIDs(up.apps), Clock: b.clk, Log: log})
	s.reviews = review.New(review.Deps{Reads: b.db, Crypto: b.ring, Blobs: photos.blobs, Store: b.st, Log: log}, review.Options{ClaimTTL: cfg.Admin.ClaimTTL, RevealWindow: cfg.Admin.RevealTTL,
		RevealLimit: cfg.Admin.RevealLimit, RevealLimitWindow: cfg.Admin.RevealLimitWindow, Registry: b.reg,
		Clock: b.clk, Zone: set.zone, NotifyUser: s.courier != nil})
	b.reg.MustRegister(s.reviews.BacklogCollector(cfg.ReviewSLA, log))
	return s, nil
}

// routes is the HTTP handler over the services.
func routes(b *base, up upstreams, s *services, set settings) (http.Handler, error) {
	cfg, ring, rdb := b.cfg, b.ring, b.rdb
	templates, err := web.Templates()
	if err != nil {
		return nil, err
	}
	catalog, err := web.NewCatalog(set.zone)
	if err != nil {
		return nil, err
	}
	disk := handler.NewDiskWatch(localDataDir(cfg, b.db.Name()), minFreeDisk, b.clk.Now)
	return handler.New(handler.Deps{
		Log:      b.log,
		Registry: b.reg,
		Checks: map[string]handler.Check{
			"database": pingDB(b.db),
			"redis":    rdb.Ping,
			"disk":     disk.Check,
		},
		Disk:              disk,
		Version:           version,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		MaxUploadBytes:    cfg.MaxUploadBytes,
		RequestTimeout:    cfg.RequestTimeout,
		Templates:         templates,
		Static:            web.Static(),
		SandboxURL:        up.sandboxURL,
		Login:             s.logins,
		Sessions:          s.sessions,
		Verify:            s.flow,
		Idempotency:       idempotency.NewStore(rdb.Client, rdb.Prefix, 24*time.Hour, 2*time.Minute, func(b []byte) []byte { return ring.Hash("idempotency", b) }, ring),
		Tokens:            s.tokens,
		TokenServerSecret: cfg.WeChat.TokenServerSecret,
		DefaultAppID:      up.apps[0].AppID,
		ConsentVersion:    cfg.ConsentVersion,
		TrustedProxies:    cfg.TrustedProxies,
		// The CSRF key is derived from the key ring: the same on every
		// instance, and never the key itself.
		Admin: &handler.AdminDeps{Accounts: s.accounts, Review: s.reviews, Tokens: s.tokens, Webhooks: handler.NewWebhookAdmin(s.hooks), Clock: b.clk,
			CSRFKey: ring.Hash("admin_csrf", []byte("v1")), Catalog: catalog, ReviewSLA: cfg.ReviewSLA, RevealTTL: cfg.Admin.RevealTTL,
			Prices: set.prices, WebhookCIDRs: cfg.Webhook.AllowCIDRs, APIKeys: s.keys},
		Server: &handler.ServerAPI{Keys: s.keys, Verifications: s.flow, Events: s.hooks},
		TLS:    handler.TLSPolicy{Production: cfg.Production(), BehindTLSProxy: cfg.Admin.AllowHTTP},
		// Scrapers then reach the metrics on an internal address only.
		MetricsElsewhere: cfg.MetricsAddr != "",
		Tracing:          b.tr,
	}), nil
}

// pruneKeyUses deletes the records of API key uses past their retention,
// hourly; every instance may run it (the deletes are idempotent).
func pruneKeyUses(ctx context.Context, keys *apikey.Service, keep time.Duration, clk clock.Clock, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := keys.Prune(ctx, clk.Now().Add(-keep)); err != nil && ctx.Err() == nil {
			log.Warn("pruning API key uses failed", "err", err)
		} else if n > 0 {
			log.Info("pruned API key uses", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
