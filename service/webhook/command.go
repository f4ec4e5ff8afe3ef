package webhook

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Command is `realname webhooks …`: args are what follows "webhooks".
//
//	replay --delivery ID                   send one delivery again
//	replay --endpoint ID --since RFC3339   send an endpoint what it missed since then
//	secret                                 print a fresh whsec_ secret (for REALNAME_WEBHOOK_SECRET)
//
// open builds the service (database, key ring) only for subcommands that
// need it. Replay only queues: the running servers' dispatchers send.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer, open func(context.Context) (*Service, error)) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "secret":
		secret, err := NewSecret()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		return nil
	case "replay":
		return replayCommand(ctx, args, stdout, stderr, open)
	}
	fmt.Fprint(stderr, `Usage: realname webhooks <subcommand> [flags]

Subcommands:
  replay   --delivery ID, or --endpoint ID --since RFC3339: queue deliveries again
  secret   print a fresh signing secret (whsec_…)
`)
	if sub == "" || sub == "help" || sub == "-h" || sub == "--help" {
		return flag.ErrHelp
	}
	return fmt.Errorf("webhooks: unknown subcommand %q", sub)
}

func replayCommand(ctx context.Context, args []string, stdout, stderr io.Writer, open func(context.Context) (*Service, error)) error {
	fs := flag.NewFlagSet("webhooks replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	delivery := fs.Int64("delivery", 0, "id of one delivery to send again (failed or succeeded)")
	endpoint := fs.Int64("endpoint", 0, "id of the endpoint whose failed and missed deliveries to send again")
	sinceRaw := fs.String("since", "", "with --endpoint: from this time on, RFC 3339 (e.g. 2025-01-31T08:00:00+08:00)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: realname webhooks replay --delivery ID\n       realname webhooks replay --endpoint ID --since RFC3339\n\n"+
			"Queues deliveries again with a fresh retry schedule; the running servers send them.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var since time.Time
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("webhooks replay: unexpected argument %q", fs.Arg(0))
	case (*delivery == 0) == (*endpoint == 0):
		fs.Usage()
		return errors.New("webhooks replay: give either --delivery or --endpoint")
	case *endpoint != 0:
		t, err := time.Parse(time.RFC3339, *sinceRaw)
		if err != nil {
			return fmt.Errorf("webhooks replay: --since must be an RFC 3339 time such as 2025-01-31T08:00:00Z, got %q", *sinceRaw)
		}
		since = t
	case *sinceRaw != "":
		return errors.New("webhooks replay: --since goes with --endpoint")
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if *delivery != 0 {
		if err := s.Replay(ctx, *delivery); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "delivery %d queued; the running servers will send it\n", *delivery)
		return nil
	}
	r, err := s.ReplaySince(ctx, *endpoint, since)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "endpoint %d since %s: %d failed deliveries queued again, %d missed events queued; the running servers will send them\n",
		*endpoint, since.Format(time.RFC3339), r.Requeued, r.Backfilled)
	return nil
}
