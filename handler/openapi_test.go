package handler

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"realname/service/idempotency"
	"realname/service/login"
	"realname/service/session"
	tokensvc "realname/service/token"
	"realname/service/verify"
	"realname/web"
)

// These tests keep docs/openapi.yaml in step with the code:
//
//   - every route the engine mounts (with every optional dependency given)
//     is an operation of the spec, and every operation is a route, apart
//     from openAPIUndocumented;
//   - every error code constant (Code* in package handler) is in the spec's
//     ErrorCode enum and the other way round, and every (status, code) pair
//     the handlers can answer is listed on a response of that status;
//   - the document is OpenAPI 3.1 shaped and its $refs resolve.

const openAPISpecPath = "../docs/openapi.yaml"

// openAPIUndocumented are the routes outside the documented API. Patterns
// ending in "*" match by prefix, others exactly (gin syntax). /api/ and
// /internal/ routes can never be listed here.
var openAPIUndocumented = []struct{ pattern, why string }{
	{"/static/*filepath", "embedded CSS and scripts of the HTML pages"},
	{"/admin", "staff console: server-rendered HTML pages and forms (cookie session, CSRF), not the JSON API"},
	{"/admin/*", "staff console: server-rendered HTML pages and forms (cookie session, CSRF), not the JSON API"},
	{"/demo*", "browser demo of the Mini Program flow: HTML, calls the documented API"},
}

// openAPIPublicAPI are the /api/ operations that take no session token.
var openAPIPublicAPI = []string{"POST /api/v1/session"}

func openAPIUndocumentedRoute(path string) bool {
	for _, u := range openAPIUndocumented {
		if p, ok := strings.CutSuffix(u.pattern, "*"); ok {
			if strings.HasPrefix(path, p) {
				return true
			}
		} else if path == u.pattern {
			return true
		}
	}
	return false
}

// Stubs of the handler's interfaces: the tests only list routes and never
// call them.
type (
	oasLogin       struct{}
	oasSessions    struct{}
	oasVerifier    struct{}
	oasIdempotency struct{}
	oasTokens      struct{}
)

var errOASStub = errors.New("openapi test stub")

func (oasLogin) Login(context.Context, string, string) (login.Result, error) {
	return login.Result{}, errOASStub
}

func (oasSessions) Lookup(context.Context, string) (session.Info, error) {
	return session.Info{}, session.ErrNoSession
}
func (oasSessions) Revoke(context.Context, string) error          { return nil }
func (oasSessions) RevokeAll(context.Context, int64) (int, error) { return 0, nil }

func (oasVerifier) Upload(context.Context, verify.User, verify.UploadInput) (verify.View, error) {
	return verify.View{}, errOASStub
}
func (oasVerifier) Submit(context.Context, verify.User, verify.Claim) (verify.View, error) {
	return verify.View{}, errOASStub
}
func (oasVerifier) Check(context.Context, verify.User, verify.Claim) (verify.View, error) {
	return verify.View{}, errOASStub
}
func (oasVerifier) Current(context.Context, verify.User) (verify.View, error) {
	return verify.View{}, errOASStub
}
func (oasVerifier) Erase(context.Context, verify.User) error { return errOASStub }

func (oasIdempotency) Begin(context.Context, string, string, string) (*idempotency.Response, error) {
	return nil, nil
}
func (oasIdempotency) Finish(context.Context, string, string, string, idempotency.Response) error {
	return nil
}
func (oasIdempotency) Abandon(context.Context, string, string) error { return nil }
func (oasIdempotency) Erase(context.Context, string) error           { return nil }
func (oasIdempotency) Fingerprint(...[]byte) string                  { return "" }

func (oasTokens) Current(context.Context, string) (tokensvc.Token, error) {
	return tokensvc.Token{}, tokensvc.ErrUnknownApp
}
func (oasTokens) Invalidate(context.Context, string, string) {}
func (oasTokens) HasApp(string) bool                         { return false }

// openAPIStubs fill interface fields of Deps by type, so a field renamed
// or added with one of these interfaces needs no change here.
var openAPIStubs = []any{oasLogin{}, oasSessions{}, oasVerifier{}, oasIdempotency{}, oasTokens{}}

// openAPIEngine builds the engine with every optional dependency set, so
// every route mounts. Deps fields added later are filled by kind: pointers
// with a zero value, maps, funcs and byte slices with empty ones, strings
// with a placeholder, interfaces with a matching stub; an interface no stub
// implements fails the test, asking for a stub, since the routes it gates
// would otherwise go unchecked. Struct-valued fields (groups of
// dependencies for pages outside the spec) are left as they are.
func openAPIEngine(t *testing.T) *gin.Engine {
	t.Helper()
	templates, err := web.Templates()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{
		Log:               slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:          prometheus.NewRegistry(),
		Checks:            map[string]Check{"database": func(context.Context) error { return nil }},
		Version:           "openapi-test",
		MaxBodyBytes:      64 << 10,
		MaxUploadBytes:    10 << 20,
		RequestTimeout:    time.Second,
		Templates:         templates,
		Static:            web.Static(),
		SandboxURL:        "http://127.0.0.1:1",
		Login:             oasLogin{},
		Sessions:          oasSessions{},
		Verify:            oasVerifier{},
		Idempotency:       oasIdempotency{},
		Tokens:            oasTokens{},
		TokenServerSecret: strings.Repeat("s", 32),
		DefaultAppID:      "wxopenapitest",
	}
	v := reflect.ValueOf(&d).Elem()
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() || !f.IsZero() {
			continue
		}
		switch f.Kind() {
		case reflect.Interface:
			idx := slices.IndexFunc(openAPIStubs, func(s any) bool { return reflect.TypeOf(s).Implements(f.Type()) })
			if idx < 0 {
				t.Errorf("handler.Deps.%s (%s) is nil here, so the routes it mounts are not checked against %s: "+
					"add a stub implementing it to openAPIStubs in handler/openapi_test.go (embedding the interface, "+
					"type oasX struct{ X }, is enough: nothing is called)", sf.Name, f.Type(), openAPISpecPath)
				continue
			}
			f.Set(reflect.ValueOf(openAPIStubs[idx]))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Func:
			ft := f.Type()
			f.Set(reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value {
				out := make([]reflect.Value, ft.NumOut())
				for j := range out {
					out[j] = reflect.Zero(ft.Out(j))
				}
				return out
			}))
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Uint8 {
				f.SetBytes([]byte(strings.Repeat("k", 32)))
			}
		case reflect.String:
			f.SetString("openapi-test-" + strings.ToLower(sf.Name))
		}
	}
	var e *gin.Engine
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("handler.New panicked with the test's Deps (%v): give the new field a usable value in openAPIEngine", r)
			}
		}()
		e = New(d)
	}()
	return e
}

// openAPISpec is the part of the document the tests read typed; raw is all
// of it, for $refs and walks.
type openAPISpec struct {
	OpenAPI string `yaml:"openapi"`
	Info    struct {
		Title   string `yaml:"title"`
		Version string `yaml:"version"`
	} `yaml:"info"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components map[string]map[string]any `yaml:"components"`
	raw        map[string]any
}

var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPISpec(t *testing.T) *openAPISpec {
	t.Helper()
	b, err := os.ReadFile(openAPISpecPath)
	if err != nil {
		t.Fatal(err)
	}
	var s openAPISpec
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", openAPISpecPath, err)
	}
	if err := yaml.Unmarshal(b, &s.raw); err != nil {
		t.Fatalf("%s: %v", openAPISpecPath, err)
	}
	return &s
}

// operations maps "METHOD /path" to the operation object.
func (s *openAPISpec) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range s.Paths {
		for _, m := range openAPIMethods {
			if op, ok := oasMap(item[m]); ok {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

// resolve follows a local $ref ("#/a/b") to its target.
func (s *openAPISpec) resolve(ref string) (any, bool) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	var cur any = s.raw
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := oasMap(cur)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref returns v, or what its $ref points to.
func (s *openAPISpec) deref(v any) any {
	for range 8 {
		m, ok := oasMap(v)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		if v, ok = s.resolve(ref); !ok {
			return nil
		}
	}
	return v
}

func oasMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func oasStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// responseCodes lists the error codes a response narrows error.code to
// (the enum or const under a "code" property), without following $refs
// into schemas, and whether it uses the Error schema at all.
func responseCodes(resp any) (codes []string, usesError bool) {
	var walk func(v any)
	walk = func(v any) {
		if l, ok := v.([]any); ok {
			for _, x := range l {
				walk(x)
			}
			return
		}
		m, ok := oasMap(v)
		if !ok {
			return
		}
		if m["$ref"] == "#/components/schemas/Error" {
			usesError = true
		}
		if c, ok := oasMap(m["code"]); ok {
			codes = append(codes, oasStrings(c["enum"])...)
			if k, ok := c["const"]; ok {
				codes = append(codes, fmt.Sprint(k))
			}
		}
		for _, x := range m {
			walk(x)
		}
	}
	walk(resp)
	return codes, usesError
}

// ginToOpenAPI turns gin's :param and *param into {param}.
func ginToOpenAPI(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIDocumentShape(t *testing.T) {
	s := loadOpenAPISpec(t)
	if s.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", s.OpenAPI)
	}
	if s.Info.Title == "" || s.Info.Version == "" {
		t.Error("info.title and info.version are required")
	}
	if len(s.Paths) == 0 || len(s.Components) == 0 {
		t.Fatal("paths and components are required")
	}
	for _, c := range []string{"schemas", "responses", "securitySchemes"} {
		if len(s.Components[c]) == 0 {
			t.Errorf("components.%s is empty", c)
		}
	}

	// Every $ref is local and resolves.
	var walk func(at string, v any)
	walk = func(at string, v any) {
		if l, ok := v.([]any); ok {
			for i, x := range l {
				walk(at+"/"+strconv.Itoa(i), x)
			}
			return
		}
		m, ok := oasMap(v)
		if !ok {
			return
		}
		if ref, ok := m["$ref"].(string); ok {
			if _, ok := s.resolve(ref); !ok {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
		}
		for k, x := range m {
			walk(at+"/"+k, x)
		}
	}
	walk("#", s.raw)

	statusKey := regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	schemes := s.Components["securitySchemes"]
	ids := map[string]string{}
	for key, op := range s.operations() {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s", key, id, other)
		}
		ids[id] = key
		resps, ok := oasMap(op["responses"])
		if !ok || len(resps) == 0 {
			t.Errorf("%s: no responses", key)
		}
		for status, r := range resps {
			if !statusKey.MatchString(status) {
				t.Errorf("%s: response key %q is not a status code", key, status)
			}
			if rm, ok := oasMap(s.deref(r)); !ok || rm["description"] == nil {
				t.Errorf("%s %s: a response needs a description", key, status)
			}
		}

		// Path parameters are declared.
		method, path, _ := strings.Cut(key, " ")
		declared := map[string]bool{}
		params, _ := s.Paths[path]["parameters"].([]any)
		opParams, _ := op["parameters"].([]any)
		for _, p := range append(params, opParams...) {
			if pm, ok := oasMap(s.deref(p)); ok && pm["in"] == "path" {
				declared[fmt.Sprint(pm["name"])] = true
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", key, m[1])
			}
		}

		// Security: a session token for /api/, the shared secret for
		// /internal/, an API key for /server/, nothing elsewhere.
		var names []string
		sec, _ := op["security"].([]any)
		for _, req := range sec {
			rm, _ := oasMap(req)
			for name := range rm {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", key, name)
				}
				names = append(names, name)
			}
		}
		want := ""
		switch {
		case strings.HasPrefix(path, "/api/") && !slices.Contains(openAPIPublicAPI, method+" "+path):
			want = "sessionToken"
		case strings.HasPrefix(path, "/internal/"):
			want = "internalSecret"
		case strings.HasPrefix(path, "/server/"):
			want = "apiKey"
		}
		if (want == "" && len(names) > 0) || (want != "" && !slices.Equal(names, []string{want})) {
			t.Errorf("%s: security %v, want [%s]", key, names, want)
		}
	}
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	s := loadOpenAPISpec(t)
	e := openAPIEngine(t)

	for _, u := range openAPIUndocumented {
		if strings.HasPrefix(u.pattern, "/api/") || strings.HasPrefix(u.pattern, "/internal/") || u.why == "" {
			t.Errorf("openAPIUndocumented %q: the API cannot be left out, and every entry says why", u.pattern)
		}
	}

	routes := map[string]bool{}
	for _, r := range e.Routes() {
		if openAPIUndocumentedRoute(r.Path) {
			if strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/internal/") {
				t.Errorf("%s %s is API but matches openAPIUndocumented", r.Method, r.Path)
			} else {
				continue
			}
		}
		routes[r.Method+" "+ginToOpenAPI(r.Path)] = true
	}
	ops := s.operations()
	for _, key := range sortedKeys(routes) {
		if ops[key] == nil {
			t.Errorf("route %s is not in %s: document it there (or, if it is not part of the API, add it to openAPIUndocumented saying why)", key, openAPISpecPath)
		}
	}
	for _, key := range sortedKeys(ops) {
		if !routes[key] {
			t.Errorf("%s documents %s, which the router does not have", openAPISpecPath, key)
		}
	}
	// The stubs did mount the optional parts.
	for _, key := range []string{"POST /api/v1/session", "POST /api/v1/verification/submit", "GET /internal/v1/wechat/token"} {
		if !routes[key] {
			t.Errorf("%s is not mounted: the test's Deps no longer mount every route", key)
		}
	}
}

// handlerErrorCodes reads the Code* string constants of package handler
// from its source, and the (status, code) pairs it answers: every call or
// composite literal with an http.StatusX argument followed by a Code*
// constant, e.g. abortWithError(c, http.StatusConflict, CodeX, …) and the
// rows of serviceErrors.
func handlerErrorCodes(t *testing.T) (codes map[string]string, pairs map[[2]string]string) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	codes = map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Code") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						codes[id.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("no Code* constants found in package handler")
	}
	statusByName := openAPIStatusNames()
	pairs = map[[2]string]string{}
	scan := func(list []ast.Expr) {
		status := ""
		for _, x := range list {
			if sel, ok := x.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "http" && strings.HasPrefix(sel.Sel.Name, "Status") {
					n, ok := statusByName[sel.Sel.Name]
					if !ok {
						t.Errorf("%s: cannot tell the number of http.%s; add it to openAPIStatusNames", fset.Position(sel.Pos()), sel.Sel.Name)
					}
					status = strconv.Itoa(n)
				}
			}
			if id, ok := x.(*ast.Ident); ok && status != "" {
				if code, ok := codes[id.Name]; ok {
					pairs[[2]string{status, code}] = fset.Position(id.Pos()).String()
				}
			}
		}
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				scan(n.Args)
			case *ast.CompositeLit:
				scan(n.Elts)
			}
			return true
		})
	}
	return codes, pairs
}

// openAPIStatusNames maps net/http's StatusX constant names to numbers,
// from their status texts ("Request Entity Too Large" is
// StatusRequestEntityTooLarge) and a few names that differ.
func openAPIStatusNames() map[string]int {
	out := map[string]int{
		"StatusTeapot": 418, "StatusNonAuthoritativeInfo": 203, "StatusRequestURITooLong": 414,
		"StatusRequestedRangeNotSatisfiable": 416, "StatusHTTPVersionNotSupported": 505,
	}
	for n := 100; n < 600; n++ {
		text := http.StatusText(n)
		if text == "" {
			continue
		}
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return -1
		}, text)
		if _, taken := out["Status"+name]; !taken {
			out["Status"+name] = n
		}
	}
	return out
}

func TestOpenAPIErrorCodes(t *testing.T) {
	s := loadOpenAPISpec(t)
	codes, pairs := handlerErrorCodes(t)

	ec, ok := oasMap(s.Components["schemas"]["ErrorCode"])
	if !ok {
		t.Fatal("components.schemas.ErrorCode is missing")
	}
	enum := map[string]bool{}
	for _, c := range oasStrings(ec["enum"]) {
		enum[c] = true
	}
	inSource := map[string]bool{}
	for name, code := range codes {
		inSource[code] = true
		if !enum[code] {
			t.Errorf("%s = %q is not in components.schemas.ErrorCode.enum of %s: document it, and on the responses that can answer it", name, code, openAPISpecPath)
		}
	}
	for _, code := range sortedKeys(enum) {
		if !inSource[code] {
			t.Errorf("ErrorCode.enum lists %q, which no Code* constant of package handler has", code)
		}
	}

	// Which codes the spec lists under which status: on operations, and on
	// components.responses that carry x-status (errors of any path).
	documented := map[[2]string]bool{}
	note := func(where, status string, resp any) {
		codes, usesError := responseCodes(s.deref(resp))
		if usesError && len(codes) == 0 {
			t.Errorf("%s %s: an error response must list its codes (enum under error.code)", where, status)
		}
		for _, c := range codes {
			if !enum[c] {
				t.Errorf("%s %s: code %q is not in ErrorCode.enum", where, status, c)
			}
			documented[[2]string{status, c}] = true
		}
	}
	for key, op := range s.operations() {
		resps, _ := oasMap(op["responses"])
		for status, r := range resps {
			note(key, status, r)
		}
	}
	for name, r := range s.Components["responses"] {
		if rm, ok := oasMap(r); ok && rm["x-status"] != nil {
			note("components.responses."+name, fmt.Sprint(rm["x-status"]), r)
		}
	}
	for _, p := range sortedPairs(pairs) {
		if !documented[p] {
			t.Errorf("%s: the handler answers %s %s, which no response of status %s in %s lists "+
				"(list it on the operations that can answer it, or for routes outside the spec on a components.responses entry with x-status)",
				pairs[p], p[0], p[1], p[0], openAPISpecPath)
		}
	}
	if len(pairs) < len(codes)/2 {
		t.Errorf("found only %d (status, code) pairs in the source; has the way errors are answered changed?", len(pairs))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedPairs(m map[[2]string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+out[i][1] < out[j][0]+out[j][1] })
	return out
}
