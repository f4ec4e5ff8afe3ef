// Command realname is the backend for the real-name (实名认证) flow of WeChat
// Mini Programs. main only wires: config → stores → services → router →
// workers → wait for a signal → graceful stop.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/gin-gonic/gin"

	"realname/config"
	"realname/service/pii"
	"realname/service/tracing"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	// gin's mode is process-global; set it once here, before any engine.
	gin.SetMode(gin.ReleaseMode)
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args, environ, stdout, stderr)
	case "migrate":
		err = migrateCmd(args, environ, stdout, stderr)
	case "webhooks":
		err = webhooksCmd(args, environ, stdout, stderr)
	case "keys":
		err = keysCmd(args, environ, stdout, stderr)
	case "blobs":
		err = blobsCmd(args, environ, stdout, stderr)
	case "admin":
		err = adminCmd(args, environ, os.Stdin, stdout, stderr)
	case "audit":
		err = auditCmd(args, environ, stdout, stderr)
	case "apikeys":
		err = apikeysCmd(args, environ, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "realname %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "realname: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "realname:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: realname [command] [flags]

Commands:
  serve     run the HTTP service (the default)
  migrate   apply or inspect database migrations
  webhooks  replay deliveries (--delivery ID | --endpoint ID --since RFC3339), or print a new signing secret
  keys      generate a personal-data key, or rotate: re-encrypt everything with the primary key
  blobs     migrate --to sql|s3: move the photos of a file store into the database or S3
  admin     create a staff account for the admin pages (password on standard input)
  audit     verify the audit trail's hash chains
  apikeys   create, list or revoke the server API's keys (the key is printed once)
  version   print the version
  help      show this text

Run "realname <command> --help" for a command's flags.
`)
}

// configHelp lists every variable with its default; secrets show no value.
func configHelp(w io.Writer) {
	fmt.Fprintln(w, "\nConfiguration (environment; REALNAME_CONFIG may name a YAML file, env wins; secrets also accept <NAME>_FILE):")
	for _, f := range config.Fields() {
		def := f.Default
		if f.Secret {
			def = "(secret)"
		} else if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-30s %s\n  %-30s   default %s; yaml %s\n", f.Key, f.Help, "", def, f.YAML)
	}
}

func newFlags(name string, stderr io.Writer, withConfig bool, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: realname %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
		if withConfig {
			configHelp(fs.Output())
		}
	}
	return fs
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	// Every log line passes the redactor: ID numbers, names and phone
	// numbers are masked wherever they appear.
	// trace_id and span_id are added after it: random hex is no personal
	// data, and a redacted id would lead nowhere.
	return slog.New(pii.NewRedactingHandler(tracing.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv}))))
}

func loadConfig(environ []string) (config.Config, error) {
	cfg, err := config.Load(environ)
	if err != nil {
		return cfg, err
	}
	return cfg, nil
}
