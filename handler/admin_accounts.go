package handler

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"realname/model"
	"realname/service/admin"
	"realname/service/review"
)

type accountRow struct {
	model.AdminUser
	Locked bool
}

type accountsData struct {
	Accounts []accountRow
	Roles    []string
	Username string // the create form as typed, after a refusal
	Role     string
	Refused  string // why the create form was refused
}

func (p *adminPages) accountsPage(c *gin.Context) {
	p.renderAccounts(c, http.StatusOK, accountsData{Role: admin.RoleReviewer})
}

func (p *adminPages) renderAccounts(c *gin.Context, status int, d accountsData) {
	list, err := p.accounts.List(c.Request.Context())
	if err != nil {
		p.fail(c, err)
		return
	}
	now := p.clock.Now()
	for _, u := range list {
		d.Accounts = append(d.Accounts, accountRow{AdminUser: u, Locked: u.LockedUntil != nil && u.LockedUntil.After(now)})
	}
	d.Roles = []string{admin.RoleReviewer, admin.RoleAdmin}
	p.render(c, status, "admin_accounts.html", "accounts.title", d)
}

func (p *adminPages) createAccount(c *gin.Context) {
	d := accountsData{Username: c.PostForm("username"), Role: c.PostForm("role")}
	ctx := c.Request.Context()
	_, err := p.accounts.Create(ctx, d.Username, c.PostForm("password"), d.Role, review.Actor(staffOf(c).AdminID))
	switch {
	case err == nil:
		back(c, "/admin/accounts", "done", "account_created")
	case errors.Is(err, admin.ErrExists), errors.Is(err, admin.ErrInvalidName), errors.Is(err, admin.ErrInvalidRole), errors.Is(err, admin.ErrWeakPassword):
		d.Refused = accountProblem(err)
		p.renderAccounts(c, http.StatusUnprocessableEntity, d)
	default:
		p.fail(c, err)
	}
}

// accountProblem is the message id of why an account was refused.
func accountProblem(err error) string {
	switch {
	case errors.Is(err, admin.ErrExists):
		return "accounts.taken"
	case errors.Is(err, admin.ErrInvalidName):
		return "accounts.bad_name"
	case errors.Is(err, admin.ErrInvalidRole):
		return "accounts.pick_role"
	}
	return "accounts.weak_password"
}

func (p *adminPages) changeAccount(c *gin.Context, fn func(id int64, actor string) error) {
	id, ok := p.pathID(c)
	if !ok {
		return
	}
	err := fn(id, review.Actor(staffOf(c).AdminID))
	switch {
	case errors.Is(err, admin.ErrNotFound):
		p.errorPage(c, http.StatusNotFound, "error.no_account")
	case err != nil:
		p.fail(c, err)
	default:
		back(c, "/admin/accounts", "done", "account_changed")
	}
}

func (p *adminPages) disableAccount(c *gin.Context) {
	if id, _ := strconv.ParseInt(c.Param("id"), 10, 64); id == staffOf(c).AdminID {
		back(c, "/admin/accounts", "err", "self_disable")
		return
	}
	p.changeAccount(c, func(id int64, actor string) error {
		return p.accounts.SetDisabled(c.Request.Context(), id, true, actor)
	})
}

func (p *adminPages) enableAccount(c *gin.Context) {
	p.changeAccount(c, func(id int64, actor string) error {
		return p.accounts.SetDisabled(c.Request.Context(), id, false, actor)
	})
}

func (p *adminPages) unlockAccount(c *gin.Context) {
	p.changeAccount(c, func(id int64, actor string) error { return p.accounts.Unlock(c.Request.Context(), id, actor) })
}
