// Command bench measures the service against the sandbox fakes, one
// scenario per subcommand:
//
//	go run ./bench token [flags]      access_token sharing across instances
//	go run ./bench webhooks [flags]   webhook delivery rate and backlog drain time
//	go run ./bench flow [flags]       the verification flow under load, N instances
//	go run ./bench faults [flags]     the flow while dependencies fail and recover
//	go run ./bench admin [flags]      review queue and search on a million rows
//	go run ./bench images [flags]     memory under uploads crafted to exhaust it
//
// Every subcommand prints human-readable result lines on stdout, its
// summary last, and exits 1 when the result breaks the property it checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one bench subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// errFailed means a scenario ran to the end but broke what it checks; the
// details are already printed, so main only sets the exit code.
var errFailed = errors.New("bench: check failed")

// errUsage means the arguments did not parse; the flag package has already
// said why.
var errUsage = errors.New("bench: usage")

// commands lists the subcommands; a function rather than a package
// variable so nothing global can be changed at run time.
func commands() []command {
	return []command{
		{"token", "N instances × C callers share WeChat access_tokens through Redis; compared with the SDK's own cache", runToken},
		{"webhooks", "outbox events delivered to a local receiver: rate, latency, and the drain time of a 100,000-event backlog", runWebhooks},
		{"flow", "N service processes × C simulated users verifying themselves, against the fakes; compared with a bare handler", runFlow},
		{"faults", "the flow load while Redis, PostgreSQL, WeChat and the webhook receiver fail; checks nothing is lost", runFaults},
		{"images", "many uploads at once of images crafted to exhaust memory (a 40 MP PNG of 52 KB, its 16-bit twin, a bare header); checks peak RSS", runImages},
		{"admin", "the review queue and the ID number search on 1,000,000 seeded verifications in PostgreSQL", runAdmin},
	}
}

func main() {
	// Ctrl-C stops the callers and still prints what was measured so far.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its result to an exit code:
// 0 passed, 1 check failed or error, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errUsage):
			return 2
		case !errors.Is(err, errFailed):
			fmt.Fprintf(stderr, "bench %s: %v\n", c.name, err)
		}
		return 1
	}
	fmt.Fprintf(stderr, "bench: unknown subcommand %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./bench <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "subcommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run 'go run ./bench <subcommand> -h' for its flags")
}

// newFlagSet makes a subcommand's flag set whose usage is the command
// line, the about lines (one paragraph, pre-wrapped) and the flags.
func newFlagSet(name string, stderr io.Writer, about ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench %s [flags]\n\n", name)
		for _, l := range about {
			fmt.Fprintln(stderr, l)
		}
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses a subcommand's flags; none of them takes positional
// arguments.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
