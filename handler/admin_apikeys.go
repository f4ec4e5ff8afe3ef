package handler

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"realname/model"
	"realname/service/apikey"
)

type apiKeysData struct {
	Configured bool
	Keys       []apikey.Key
	Scopes     []string
	Apps       []string // the apps a key may be bound to
	AllApps    string   // the value of the all-apps choice
	NewKey     string   // the whole key, shown once right after it was made
	NewKeyFor  int64
	Refused    string // why the create form was refused
	Name       string
	App        string                // the app chosen in a refused form
	Key        *apikey.Key           // the one key page
	Uses       []model.APIKeyUse     // its latest uses
	Refusals   []model.APIKeyRefusal // its latest refusals, counted per minute
}

func (p *adminPages) keysReady(c *gin.Context) bool {
	if p.keys == nil {
		p.errorPage(c, http.StatusNotFound, "apikeys.off")
		return false
	}
	return true
}

func (p *adminPages) apiKeysPage(c *gin.Context) { p.renderAPIKeys(c, http.StatusOK, apiKeysData{}) }

func (p *adminPages) renderAPIKeys(c *gin.Context, status int, d apiKeysData) {
	d.Configured, d.Scopes, d.AllApps = p.keys != nil, apikey.Scopes(), apikey.AllApps
	if d.Configured {
		d.Apps = p.keys.Apps()
		var err error
		if d.Keys, err = p.keys.List(c.Request.Context()); err != nil {
			p.fail(c, err)
			return
		}
	}
	p.render(c, status, "admin_apikeys.html", "apikeys.title", d)
}

func (p *adminPages) createAPIKey(c *gin.Context) {
	if !p.keysReady(c) {
		return
	}
	k, full, err := p.keys.Create(c.Request.Context(), c.PostForm("name"), c.PostFormArray("scopes"), c.PostForm("app"), staffActor(c))
	if errors.Is(err, apikey.ErrInvalid) {
		p.renderAPIKeys(c, http.StatusUnprocessableEntity, apiKeysData{Refused: err.Error(), Name: c.PostForm("name"), App: c.PostForm("app")})
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	p.renderAPIKeys(c, http.StatusOK, apiKeysData{NewKey: full, NewKeyFor: k.ID})
}

func (p *adminPages) apiKeyPage(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.keysReady(c) {
		return
	}
	k, err := p.keys.Find(c.Request.Context(), id)
	if errors.Is(err, apikey.ErrNotFound) {
		p.errorPage(c, http.StatusNotFound, "error.no_page")
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	uses, err := p.keys.Uses(c.Request.Context(), id, 200)
	if err != nil {
		p.fail(c, err)
		return
	}
	refusals, err := p.keys.Refusals(c.Request.Context(), id, 60)
	if err != nil {
		p.fail(c, err)
		return
	}
	p.render(c, http.StatusOK, "admin_apikeys.html", "apikeys.title", apiKeysData{Configured: true, Key: &k, Uses: uses, Refusals: refusals})
}

func (p *adminPages) revokeAPIKey(c *gin.Context) {
	id, ok := p.pathID(c)
	if !ok || !p.keysReady(c) {
		return
	}
	err := p.keys.Revoke(c.Request.Context(), id, staffActor(c))
	if errors.Is(err, apikey.ErrNotFound) {
		p.errorPage(c, http.StatusNotFound, "error.no_page")
		return
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	back(c, "/admin/apikeys", "done", "key_revoked")
}

// staffActor is the signed-in staff member as the audit trail names them.
func staffActor(c *gin.Context) string { return "admin:" + strconv.FormatInt(staffOf(c).AdminID, 10) }
