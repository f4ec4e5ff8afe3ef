package handler

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"realname/service/review"
)

type auditData struct {
	review.AuditPage
	Rows              []timelineRow // the entries, their data as readable pairs
	Admin, Type, Case string
	NextURL, CSVURL   string
}

// auditFilter reads the audit filters from the query.
func auditFilter(c *gin.Context) review.AuditFilter {
	f := review.AuditFilter{Type: c.Query("type")}
	f.AdminID, _ = strconv.ParseInt(c.Query("admin"), 10, 64)
	f.VerificationID, _ = strconv.ParseInt(c.Query("case"), 10, 64)
	f.Before, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	return f
}

// audit lists staff actions: reveals, claims, decisions, logins, account
// and webhook changes, newest first.
func (p *adminPages) audit(c *gin.Context) {
	page, err := p.review.AuditLog(c.Request.Context(), auditFilter(c))
	if err != nil {
		p.fail(c, err)
		return
	}
	d := auditData{AuditPage: page, Admin: c.Query("admin"), Type: c.Query("type"), Case: c.Query("case")}
	for _, e := range page.Entries {
		d.Rows = append(d.Rows, timelineRow{AuditEntry: e, Details: details(p.locale(c), e.Data, e.Texts)})
	}
	q := c.Request.URL.Query()
	q.Del("before")
	d.CSVURL = "/admin/audit.csv?" + q.Encode()
	if page.Next > 0 {
		q.Set("before", strconv.FormatInt(page.Next, 10))
		d.NextURL = "/admin/audit?" + q.Encode()
	}
	p.render(c, http.StatusOK, "admin_audit.html", "audit.title", d)
}

// auditCSV streams the filtered staff actions as a CSV download.
func (p *adminPages) auditCSV(c *gin.Context) {
	f := auditFilter(c)
	f.Before = 0
	f.Zone = p.catalog.Zone()
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="realname-audit-`+p.clock.Now().Format("20060102-150405")+`.csv"`)
	c.Status(http.StatusOK)
	if err := p.review.WriteAuditCSV(c.Request.Context(), c.Writer, f); err != nil {
		// The header is sent; all that is left is to log and cut the stream.
		p.log.Error("audit export failed", "request_id", requestIDFrom(c), "err", err)
		c.Abort()
	}
}
