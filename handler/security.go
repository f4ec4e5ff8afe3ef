package handler

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// TLSPolicy says how the server judges whether the browser reached it over
// TLS. The server itself listens on plain HTTP; TLS is a proxy's job.
type TLSPolicy struct {
	// Production makes the console's cookies always Secure and refuses the
	// console (sign-in included) unless the browser is on TLS.
	Production bool
	// BehindTLSProxy (REALNAME_ADMIN_ALLOW_HTTP) says a TLS-terminating
	// proxy is in front: plain HTTP at our listener is the proxy's, and
	// the browser is on HTTPS unless the proxy's X-Forwarded-Proto says
	// http. The listener must then be reachable only through the proxy.
	BehindTLSProxy bool
}

// browserTLS reports whether the browser's own connection is TLS.
// X-Forwarded-Proto is believed behind a declared proxy, and outside
// production, where a forged one only makes cookies and checks stricter;
// in production without a declared proxy only our own TLS counts.
func (p TLSPolicy) browserTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	proto = strings.TrimSpace(proto)
	switch {
	case p.BehindTLSProxy:
		return !strings.EqualFold(proto, "http")
	case !p.Production:
		return strings.EqualFold(proto, "https")
	}
	return false
}

// secureCookies reports whether cookies must carry Secure: always in
// production, so a session cookie never travels in clear.
func (p TLSPolicy) secureCookies(r *http.Request) bool { return p.Production || p.browserTLS(r) }

// consoleAllowed reports whether the staff pages may be served: a password
// typed into a page served over plain HTTP is readable on the way.
func (p TLSPolicy) consoleAllowed(r *http.Request) bool { return !p.Production || p.browserTLS(r) }

// securityHeaders sets what every answer carries: no MIME sniffing, no
// referrer, no framing, HSTS once the browser is on TLS, and no-store on
// the JSON APIs (their answers name users and carry tokens), errors and
// unknown routes included. The admin pages add a stricter policy of their
// own.
func securityHeaders(tls TLSPolicy) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		if tls.browserTLS(c.Request) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if privateAnswer(c.Request.URL.Path) {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// privateAnswer reports whether a path is one of the JSON APIs, whose
// answers no cache may keep.
func privateAnswer(p string) bool {
	p = path.Clean("/" + p)
	for _, prefix := range []string{"/api", "/server", "/internal"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// staticFiles serves the embedded static files, and only files: a folder
// (the root included) is a 404, never a listing.
func staticFiles(files fs.FS) gin.HandlerFunc {
	return func(c *gin.Context) {
		name := strings.TrimPrefix(c.Param("filepath"), "/")
		if st, err := fs.Stat(files, name); name == "" || !fs.ValidPath(name) || err != nil || st.IsDir() {
			abortWithError(c, http.StatusNotFound, CodeNotFound, "no such file")
			return
		}
		http.ServeFileFS(c.Writer, c.Request, files, name)
	}
}
