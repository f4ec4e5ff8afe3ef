// Package web holds the server-rendered pages and their static files,
// embedded into the binary so a deployment is one file.
package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Templates parses every page at start, so a broken or missing view stops
// the boot instead of failing a staff member's request later.
func Templates() (*template.Template, error) {
	t, err := template.New("").Funcs(template.FuncMap{"deref": deref}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	return t, nil
}

// deref is the time a pointer holds, the zero time for nil (shown as a
// dash by Locale).
func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// Static is the tree served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory exists
	}
	return sub
}
