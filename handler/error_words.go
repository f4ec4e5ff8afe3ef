package handler

import (
	"github.com/gin-gonic/gin"

	"realname/service/wording"
)

// errorMessage is the message of an error answer in the request's language
// (Chinese by default) when the words for id exist, else fallback.
func errorMessage(c *gin.Context, id, fallback string) string {
	if m := wording.Error(wording.FromAcceptLanguage(c.GetHeader("Accept-Language")), id); m != "" {
		return m
	}
	return fallback
}

// abortWithWords ends the request with the JSON error shape, its message
// the words for id in the request's language, then detail when given.
func abortWithWords(c *gin.Context, status int, code, id, detail string) {
	abortWithMessage(c, status, code, errorMessage(c, id, id)+detail)
}
