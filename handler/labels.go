package handler

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// methodLabel is the request's method as metrics and logs record it: one of
// the methods HTTP defines, or OTHER. A client chooses the method freely
// (any token, any length), so recording it as sent would let anyone grow
// the metric series and the logs without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// routeLabel is the matched route template, or "unmatched": never the raw
// path, which can carry openids or ID numbers and has no bound.
func routeLabel(c *gin.Context) string {
	if route := c.FullPath(); route != "" {
		return route
	}
	return "unmatched"
}
