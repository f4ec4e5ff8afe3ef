package handler

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"realname/service/webhook"
)

// NewWebhookAdmin is the webhook service as the pages' WebhookAdmin: it
// already speaks in the view types they show, so nothing is converted.
func NewWebhookAdmin(s *webhook.Service) WebhookAdmin { return s }

type webhooksData struct {
	Configured bool
	// PrivateNetworks offers the endpoints' private-network switch; off
	// (production without REALNAME_WEBHOOK_ALLOW_PRIVATE) the form hides it.
	PrivateNetworks bool
	CIDRs           []string // REALNAME_WEBHOOK_ALLOW_CIDRS
	Endpoints       []webhook.Endpoint
	NewSecret       string // shown once, right after a create or a rotation
	SecretFor       int64
}

// webhooksPage lists the endpoints; without a webhook service it says so.
func (p *adminPages) webhooksPage(c *gin.Context) {
	p.renderWebhooks(c, webhooksData{})
}

func (p *adminPages) renderWebhooks(c *gin.Context, d webhooksData) {
	d.Configured = p.webhooks != nil
	d.CIDRs = p.cidrs
	if d.Configured {
		d.PrivateNetworks = p.webhooks.PrivateNetworks()
		var err error
		if d.Endpoints, err = p.webhooks.Endpoints(c.Request.Context()); err != nil {
			p.fail(c, err)
			return
		}
	}
	p.render(c, http.StatusOK, "admin_webhooks.html", "webhooks.title", d)
}

// webhooksReady answers 404 when webhooks are not configured.
func (p *adminPages) webhooksReady(c *gin.Context) bool {
	if p.webhooks == nil {
		p.errorPage(c, http.StatusNotFound, "error.webhooks_off")
		return false
	}
	return true
}

// recordWebhookAction writes a staff action to the audit trail; a failure
// is logged, the action itself already happened.
func (p *adminPages) recordWebhookAction(c *gin.Context, typ string, data map[string]any) {
	if err := p.review.RecordStaffAction(c.Request.Context(), staffOf(c).AdminID, typ, data); err != nil {
		p.log.Error("audit of a webhook action failed", "type", typ, "err", err)
	}
}

func (p *adminPages) createEndpoint(c *gin.Context) {
	if !p.webhooksReady(c) {
		return
	}
	var types []string
	for _, t := range strings.Split(c.PostForm("event_types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	private := c.PostForm("allow_private") == "1"
	ep, secret, err := p.webhooks.CreateEndpoint(c.Request.Context(),
		webhook.EndpointSpec{URL: strings.TrimSpace(c.PostForm("url")), EventTypes: types, AllowPrivate: private})
	if err != nil {
		p.refusedEndpoint(c, err)
		return
	}
	p.recordWebhookAction(c, "webhook_endpoint_created", map[string]any{"endpoint": ep.ID, "url": ep.URL, "allow_private": private})
	p.renderWebhooks(c, webhooksData{NewSecret: secret, SecretFor: ep.ID})
}

// refusedEndpoint says why the webhook service refused a setting, in the
// page's language when it names a code (the detail stays, for support).
func (p *adminPages) refusedEndpoint(c *gin.Context, err error) {
	var inv *webhook.InvalidError
	switch {
	case errors.As(err, &inv):
		l := p.locale(c)
		p.errorPage(c, http.StatusUnprocessableEntity, "webhooks.refused", "Why", l.Code("webhook_invalid", inv.Code)+" ("+inv.Code+")")
	case errors.Is(err, webhook.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "error.no_page")
	case errors.Is(err, webhook.ErrInvalid):
		p.errorPage(c, http.StatusUnprocessableEntity, "webhooks.refused", "Why", err.Error())
	default:
		p.fail(c, err)
	}
}

// endpointAction runs one change on the endpoint in the path.
func (p *adminPages) endpointAction(c *gin.Context, typ string, fn func(id int64) error) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	if err := fn(id); err != nil {
		p.refusedEndpoint(c, err)
		return
	}
	p.recordWebhookAction(c, typ, map[string]any{"endpoint": id})
	back(c, "/admin/webhooks", "done", "endpoint_changed")
}

// pingEndpoint sends the endpoint a signed test event; its delivery and
// the receiver's answer show on the endpoint's deliveries.
func (p *adminPages) pingEndpoint(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	ev, err := p.webhooks.Ping(c.Request.Context(), id)
	if err != nil {
		p.refusedEndpoint(c, err)
		return
	}
	p.recordWebhookAction(c, "webhook_ping_sent", map[string]any{"endpoint": id, "event": ev})
	c.Redirect(http.StatusSeeOther, "/admin/webhooks/deliveries?endpoint="+strconv.FormatInt(id, 10)+"&done=ping_sent")
}

// endpointNetwork sets whether the endpoint may reach private addresses.
func (p *adminPages) endpointNetwork(c *gin.Context) {
	allow := c.PostForm("allow_private") == "1"
	p.endpointAction(c, "webhook_endpoint_network", func(id int64) error {
		return p.webhooks.SetAllowPrivate(c.Request.Context(), id, allow)
	})
}

func (p *adminPages) disableEndpoint(c *gin.Context) {
	p.endpointAction(c, "webhook_endpoint_disabled", func(id int64) error {
		return p.webhooks.DisableEndpoint(c.Request.Context(), id, "disabled by "+staffOf(c).Username)
	})
}

func (p *adminPages) enableEndpoint(c *gin.Context) {
	p.endpointAction(c, "webhook_endpoint_enabled", func(id int64) error { return p.webhooks.EnableEndpoint(c.Request.Context(), id) })
}

func (p *adminPages) rotateSecret(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	secret, err := p.webhooks.RotateSecret(c.Request.Context(), id)
	if err != nil {
		p.fail(c, err)
		return
	}
	p.recordWebhookAction(c, "webhook_secret_rotated", map[string]any{"endpoint": id})
	p.renderWebhooks(c, webhooksData{NewSecret: secret, SecretFor: id})
}

func (p *adminPages) replayFailed(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	hours, err := strconv.Atoi(c.DefaultPostForm("hours", "24"))
	if err != nil || hours <= 0 || hours > 24*30 {
		hours = 24
	}
	r, err := p.webhooks.ReplaySince(c.Request.Context(), id, p.clock.Now().Add(-time.Duration(hours)*time.Hour))
	if err != nil {
		p.fail(c, err)
		return
	}
	p.recordWebhookAction(c, "webhook_replayed_failed", map[string]any{"endpoint": id, "hours": hours, "deliveries": r.Requeued + r.Backfilled})
	back(c, "/admin/webhooks/deliveries?endpoint="+strconv.FormatInt(id, 10), "done", "replayed")
}

type deliveriesData struct {
	Configured bool
	Deliveries []webhook.Delivery
	Attempts   []webhook.Attempt
	Delivery   int64 // the delivery whose attempts are shown; 0 on the list
	Endpoint   string
	Status     string
	Statuses   []webhook.State
	NextURL    string
}

// deliveries lists deliveries, newest first, by endpoint and status.
func (p *adminPages) deliveries(c *gin.Context) {
	d := deliveriesData{Configured: p.webhooks != nil, Endpoint: c.Query("endpoint"), Status: c.Query("status"),
		Statuses: append([]webhook.State{""}, webhook.States()...)}
	if d.Configured {
		f := webhook.DeliveryFilter{Status: webhook.State(d.Status), Limit: 100}
		f.EndpointID, _ = strconv.ParseInt(d.Endpoint, 10, 64)
		f.BeforeID, _ = strconv.ParseInt(c.Query("before"), 10, 64)
		var err error
		if d.Deliveries, err = p.webhooks.Deliveries(c.Request.Context(), f); err != nil {
			p.fail(c, err)
			return
		}
		if len(d.Deliveries) == f.Limit {
			q := c.Request.URL.Query()
			q.Set("before", strconv.FormatInt(d.Deliveries[len(d.Deliveries)-1].ID, 10))
			d.NextURL = "/admin/webhooks/deliveries?" + q.Encode()
		}
	}
	p.render(c, http.StatusOK, "admin_deliveries.html", "deliveries.title", d)
}

// delivery shows one delivery's attempts.
func (p *adminPages) delivery(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	_, attempts, err := p.webhooks.DeliveryAttempts(c.Request.Context(), id)
	if err != nil {
		p.refusedEndpoint(c, err) // an unknown id is the 404 page
		return
	}
	p.render(c, http.StatusOK, "admin_deliveries.html", "deliveries.one_title", deliveriesData{Configured: true, Delivery: id, Attempts: attempts})
}

func (p *adminPages) replayDelivery(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.webhooksReady(c) {
		return
	}
	if err := p.webhooks.Replay(c.Request.Context(), id); err != nil {
		p.refusedEndpoint(c, err)
		return
	}
	p.recordWebhookAction(c, "webhook_replayed", map[string]any{"delivery": id})
	back(c, "/admin/webhooks/deliveries/"+strconv.FormatInt(id, 10), "done", "replayed")
}
