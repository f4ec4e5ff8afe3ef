package handler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"realname/service/wording"
)

// TestEveryErrorCodeHasChineseWords: each Code constant of the handlers
// has words in the catalog, so no error answers a Chinese reader in
// English.
func TestEveryErrorCodeHasChineseWords(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || len(spec.Names) != 1 || !strings.HasPrefix(spec.Names[0].Name, "Code") || len(spec.Values) != 1 {
				return true
			}
			lit, ok := spec.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			code, _ := strconv.Unquote(lit.Value)
			found++
			if !wording.HasErrorMessage(code) {
				t.Errorf("%s (%q) has no Chinese words in service/wording", spec.Names[0].Name, code)
			}
			return true
		})
	}
	if found < 40 {
		t.Fatalf("only %d codes found", found)
	}
}

// TestErrorMessagesFollowTheLanguageRule: an error's message is Chinese by
// default and for zh-CN, English when English is preferred, like a
// status's message.
func TestErrorMessagesFollowTheLanguageRule(t *testing.T) {
	srv := newTestServer(t, nil)
	for _, tc := range []struct{ lang, want string }{
		{"", "请求的资源不存在"},
		{"zh-CN,zh;q=0.9", "请求的资源不存在"},
		{"fr-FR", "请求的资源不存在"},
		{"en-US,en;q=0.9", "no such route"},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/nothing-here", nil)
		if tc.lang != "" {
			req.Header.Set("Accept-Language", tc.lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if d := decodeError(t, resp); d.Code != CodeNotFound || d.Message != tc.want {
			t.Errorf("Accept-Language %q: %+v", tc.lang, d)
		}
	}
}
