package handler

import (
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// CodeInvalidText answers a text field that is not valid UTF-8 or holds a
// NUL: no store takes such text as it is (PostgreSQL refuses both), and no
// person types it.
const CodeInvalidText = "invalid_text"

// textOK reports whether s is text a request may carry.
func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// validText refuses a request whose query or form fields are not text:
// before any handler, so no such value reaches a store or a log.
func validText() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !valuesOK(c.Request.URL.Query()) {
			abortWithError(c, http.StatusBadRequest, CodeInvalidText, "a query parameter is not valid UTF-8 text")
			return
		}
		if c.ContentType() == "application/x-www-form-urlencoded" {
			if err := c.Request.ParseForm(); err != nil {
				abortWithError(c, http.StatusBadRequest, CodeInvalidRequest, "the form does not parse")
				return
			}
			if !valuesOK(c.Request.PostForm) {
				abortWithError(c, http.StatusBadRequest, CodeInvalidText, "a form field is not valid UTF-8 text")
				return
			}
		}
		c.Next()
	}
}

func valuesOK(vs map[string][]string) bool {
	for k, list := range vs {
		if !textOK(k) {
			return false
		}
		for _, v := range list {
			if !textOK(v) {
				return false
			}
		}
	}
	return true
}

// stringsOK reports whether every string field reachable in v (a decoded
// JSON body) is text.
func stringsOK(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || stringsOK(v.Elem())
	case reflect.String:
		return textOK(v.String())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !stringsOK(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !stringsOK(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if !stringsOK(k) || !stringsOK(v.MapIndex(k)) {
				return false
			}
		}
	}
	return true
}
