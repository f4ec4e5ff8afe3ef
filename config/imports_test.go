package config

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsNoService: config holds plain values and the services convert
// them (serve asks notify which template sources there are); a config that
// imported a service to parse with it would turn the dependency around.
func TestImportsNoService(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "realname/service/") {
				t.Errorf("%s imports %s: config depends on no service", name, path)
			}
		}
	}
}

// TestTemplateFieldsShape: the configuration checks the shape of the
// review template's fields; the sources are the notification service's.
func TestTemplateFieldsShape(t *testing.T) {
	for fields, ok := range map[string]bool{
		"phrase1=result,thing2=reason": true,
		"phrase1=anything":             true, // serve asks notify about the source
		"phrase1":                      false,
		"=result":                      false,
		"phrase1=":                     false,
		"phrase1=result,,x=name":       false,
	} {
		c := Default()
		c.WeChat.ReviewTemplateFields = fields
		err := c.Validate()
		if got := err == nil || !strings.Contains(err.Error(), "WECHAT_REVIEW_TEMPLATE_FIELDS"); got != ok {
			t.Errorf("%q: %v", fields, err)
		}
	}
}
