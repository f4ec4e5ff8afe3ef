// Package ownercheck is the linter that keeps the layering we agreed on:
// only a table's owner (model.Owners) writes it, no gorm update takes a
// map (column names checked only at run time), no service package imports
// gin, and config depends on nothing in service/. Run it with
// `go test ./model/ownercheck/`; .ci/run does, as its lint step.
package ownercheck

import (
	"go/ast"
	"go/constant"
	"go/types"
	"regexp"
	"strings"

	"golang.org/x/tools/go/analysis"
	"gorm.io/gorm/schema"

	"realname/model"
)

// Analyzer reports writes of a table outside its owner, map updates, and
// imports across the layers.
var Analyzer = &analysis.Analyzer{
	Name: "ownercheck",
	Doc:  "reports table writes outside the table's owner (model.Owners), gorm updates taking a map, gin in service/ and service/ in config/",
	Run:  run,
}

const (
	modulePrefix = "realname/"
	gormDB       = "gorm.io/gorm.DB"
)

// exempt packages write tables for reasons of their own: the migrations
// own the schema, and the bench writes outbox rows as the flow would, to
// load the dispatcher without running the flow.
var exempt = map[string]bool{"realname/model": true, "realname/bench": true}

// writes are the *gorm.DB methods that write; the value says whether the
// first argument is the row(s) written.
var writes = map[string]bool{
	"Create": true, "CreateInBatches": true, "Save": true, "FirstOrCreate": true, "Delete": true,
	"Update": false, "Updates": false, "UpdateColumn": false, "UpdateColumns": false,
	"Exec": false, "Raw": false,
}

// valueArg is where a map would name columns.
var valueArg = map[string]int{"Updates": 0, "UpdateColumns": 0, "Create": 0, "CreateInBatches": 0, "Save": 0, "FirstOrCreate": 0}

// tableNames are the model types whose table is not gorm's default name.
var tableNames = map[string]string{"BlobJournal": "blob_journal"}

var sqlWrite = regexp.MustCompile(`(?i)\b(?:insert\s+(?:ignore\s+)?into|update|delete\s+from|replace\s+into)\s+["` + "`" + `]?([a-z_][a-z0-9_]*)`)

func run(pass *analysis.Pass) (any, error) {
	path := pass.Pkg.Path()
	if !strings.HasPrefix(path, modulePrefix) && path != "realname" {
		return nil, nil
	}
	for _, f := range pass.Files {
		if strings.HasSuffix(pass.Fset.File(f.Pos()).Name(), "_test.go") {
			continue
		}
		checkImports(pass, f)
		if exempt[path] {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					checkCall(pass, fn, call)
				}
				return true
			})
		}
	}
	return nil, nil
}

// checkImports keeps gin out of service/ and service/ out of config/.
func checkImports(pass *analysis.Pass, f *ast.File) {
	path := pass.Pkg.Path()
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		switch {
		case strings.HasPrefix(path, "realname/service/") && (p == "github.com/gin-gonic/gin" || strings.HasPrefix(p, "github.com/gin-gonic/gin/")):
			pass.Reportf(imp.Pos(), "%s imports gin: business rules in service/ do not know the web framework", path)
		case (path == "realname/config" || strings.HasPrefix(path, "realname/config/")) && strings.HasPrefix(p, "realname/service/"):
			pass.Reportf(imp.Pos(), "config imports %s: configuration holds plain values; the service converts them", p)
		}
	}
}

// checkCall reports a write through *gorm.DB outside the table's owner, or
// one that takes a map.
func checkCall(pass *analysis.Pass, fn *ast.FuncDecl, call *ast.CallExpr) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	rowsArg, isWrite := writes[sel.Sel.Name]
	if !isWrite || !onGormDB(pass, sel) {
		return
	}
	name := sel.Sel.Name
	if i, ok := valueArg[name]; ok && i < len(call.Args) {
		if _, isMap := pass.TypesInfo.TypeOf(call.Args[i]).Underlying().(*types.Map); isMap {
			pass.Reportf(call.Pos(), "%s with a map: name the columns with a typed struct and Select, so the compiler checks them", name)
		}
	}
	var tables []string
	switch {
	case name == "Exec" || name == "Raw":
		if len(call.Args) > 0 {
			tables = sqlTables(pass, fn, call.Args[0])
		}
	default:
		if rowsArg && len(call.Args) > 0 {
			tables = appendTable(tables, tableOf(pass.TypesInfo.TypeOf(call.Args[0])))
		}
		if name == "Updates" || name == "UpdateColumns" {
			tables = appendTable(tables, tableOf(pass.TypesInfo.TypeOf(call.Args[0])))
		}
		tables = append(tables, chainTables(pass, fn, sel.X, 0)...)
	}
	if len(tables) == 0 {
		tables = declared(fn)
	}
	if len(tables) == 0 {
		if name != "Raw" && name != "Exec" {
			pass.Reportf(call.Pos(), "%s on a table the linter cannot name: start the chain with Model(&model.X{}) or Table(\"x\") in this function", name)
		}
		return
	}
	owners := model.Owners()
	for _, t := range tables {
		o, known := owners[t]
		switch {
		case !known:
			pass.Reportf(call.Pos(), "table %s has no owner in model.Owners", t)
		case o.Package == pass.Pkg.Path():
		case o.Also[pass.Pkg.Path()] != "":
		default:
			pass.Reportf(call.Pos(), "%s writes table %s, which only %s writes (model.Owners): call its store", pass.Pkg.Path(), t, o.Package)
		}
	}
}

// onGormDB reports whether sel is a method of *gorm.DB.
func onGormDB(pass *analysis.Pass, sel *ast.SelectorExpr) bool {
	s, ok := pass.TypesInfo.Selections[sel]
	if !ok || s.Kind() != types.MethodVal {
		return false
	}
	return strings.TrimPrefix(types.TypeString(s.Recv(), nil), "*") == gormDB
}

// chainTables walks a call chain back from a write (tx.Model(&x).Where(…))
// for Model and Table, through local variables the chain was kept in.
func chainTables(pass *analysis.Pass, fn *ast.FuncDecl, x ast.Expr, depth int) []string {
	var out []string
	for depth < 40 {
		depth++
		switch e := x.(type) {
		case *ast.CallExpr:
			if body := ownHelper(pass, e); body != nil {
				// A helper of this package that starts the chain
				// (a.row(id)): follow what it returns.
				for _, r := range returns(body) {
					out = append(out, chainTables(pass, body, r, depth)...)
				}
				return out
			}
			sel, ok := e.Fun.(*ast.SelectorExpr)
			if !ok {
				// A helper wrapping the chain (s.skipLocked(q)): follow its
				// *gorm.DB arguments.
				for _, a := range e.Args {
					if isGormDB(pass.TypesInfo.TypeOf(a)) {
						out = append(out, chainTables(pass, fn, a, depth)...)
					}
				}
				return out
			}
			switch sel.Sel.Name {
			case "Model":
				if len(e.Args) == 1 {
					out = appendTable(out, tableOf(pass.TypesInfo.TypeOf(e.Args[0])))
				}
			case "Table":
				if len(e.Args) >= 1 {
					if v := pass.TypesInfo.Types[e.Args[0]].Value; v != nil && v.Kind() == constant.String {
						out = appendTable(out, strings.Fields(constant.StringVal(v) + " ")[0])
					}
				}
			}
			if !isGormDB(pass.TypesInfo.TypeOf(sel.X)) {
				for _, a := range e.Args {
					if isGormDB(pass.TypesInfo.TypeOf(a)) {
						out = append(out, chainTables(pass, fn, a, depth)...)
					}
				}
				return out
			}
			x = sel.X
		case *ast.ParenExpr:
			x = e.X
		case *ast.Ident:
			rhs := assignedTo(pass, fn, e)
			if rhs == nil {
				return out
			}
			x = rhs
		default:
			return out
		}
	}
	return out
}

// assignedTo finds the last expression assigned to id's variable in fn
// before id: q := tx.Model(…); q.Update(…).
func assignedTo(pass *analysis.Pass, fn *ast.FuncDecl, id *ast.Ident) ast.Expr {
	obj := pass.TypesInfo.Uses[id]
	if obj == nil {
		return nil
	}
	var found ast.Expr
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || as.Pos() > id.Pos() || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, l := range as.Lhs {
			li, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			if o := pass.TypesInfo.ObjectOf(li); o == obj && as.Rhs[i] != ast.Expr(id) {
				found = as.Rhs[i]
			}
		}
		return true
	})
	return found
}

// declared reads the tables a function that writes a table chosen at run
// time names in its doc comment ("ownercheck:tables a, b"); they are checked
// like any other.
func declared(fn *ast.FuncDecl) []string {
	if fn.Doc == nil {
		return nil
	}
	var out []string
	for _, c := range fn.Doc.List {
		_, list, ok := strings.Cut(c.Text, "ownercheck:tables ")
		if !ok {
			continue
		}
		for _, t := range strings.Split(list, ",") {
			out = appendTable(out, strings.TrimSpace(t))
		}
	}
	return out
}

// ownHelper returns the declaration of the function or method of this
// package that call calls, when it returns a *gorm.DB.
func ownHelper(pass *analysis.Pass, call *ast.CallExpr) *ast.FuncDecl {
	var id *ast.Ident
	switch f := call.Fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	obj, ok := pass.TypesInfo.Uses[id].(*types.Func)
	if !ok || obj.Pkg() != pass.Pkg || !isGormDB(pass.TypesInfo.TypeOf(call)) {
		return nil
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && pass.TypesInfo.Defs[fd.Name] == obj {
				return fd
			}
		}
	}
	return nil
}

// returns lists the expressions fn returns.
func returns(fn *ast.FuncDecl) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
			out = append(out, r.Results[0])
		}
		return true
	})
	return out
}

func isGormDB(t types.Type) bool {
	return t != nil && strings.TrimPrefix(types.TypeString(t, nil), "*") == gormDB
}

// sqlTables names the tables an Exec or Raw statement writes: from its
// constant text, or, when the text is built, from the SQL literals of the
// function building it.
func sqlTables(pass *analysis.Pass, fn *ast.FuncDecl, arg ast.Expr) []string {
	if v := pass.TypesInfo.Types[arg].Value; v != nil && v.Kind() == constant.String {
		return sqlWrites(constant.StringVal(v))
	}
	var out []string
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok {
			if v := pass.TypesInfo.Types[lit].Value; v != nil && v.Kind() == constant.String {
				out = append(out, sqlWrites(constant.StringVal(v))...)
			}
		}
		return true
	})
	return out
}

// lockOrUpsert matches the words an UPDATE keyword is followed by in statements that
// write no table of that name (FOR UPDATE, DO UPDATE SET, ON DUPLICATE KEY
// UPDATE col = …).
var lockOrUpsert = regexp.MustCompile(`(?i)(?:\bfor|\bkey|\bdo)\s+$`)

func sqlWrites(sql string) []string {
	var out []string
	for _, m := range sqlWrite.FindAllStringSubmatchIndex(sql, -1) {
		if lockOrUpsert.MatchString(sql[:m[0]]) {
			continue
		}
		if t := strings.ToLower(sql[m[2]:m[3]]); t != "set" {
			out = appendTable(out, t)
		}
	}
	return out
}

// tableOf is the table of a model type, through pointers and slices; ""
// for anything not declared in package model.
func tableOf(t types.Type) string {
	for t != nil {
		switch u := t.(type) {
		case *types.Pointer:
			t = u.Elem()
			continue
		case *types.Slice:
			t = u.Elem()
			continue
		case *types.Named:
			obj := u.Obj()
			if obj.Pkg() == nil || obj.Pkg().Path() != "realname/model" {
				return ""
			}
			if _, isStruct := u.Underlying().(*types.Struct); !isStruct {
				return ""
			}
			if n, ok := tableNames[obj.Name()]; ok {
				return n
			}
			return schema.NamingStrategy{}.TableName(obj.Name())
		}
		return ""
	}
	return ""
}

func appendTable(ts []string, t string) []string {
	if t == "" {
		return ts
	}
	for _, x := range ts {
		if x == t {
			return ts
		}
	}
	return append(ts, t)
}
