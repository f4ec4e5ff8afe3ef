package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"realname/config"
	"realname/model"
	"realname/sandbox"
	"realname/service/apikey"
	"realname/service/clock"
	"realname/service/store"
)

// apikeysCmd manages the server API's keys from the command line.
func apikeysCmd(args, environ []string, stdout, stderr io.Writer) error {
	sub, args := subcommand(args)
	fs := newFlags("apikeys "+sub, stderr, false, `Subcommands:
  create   make a key for a business system; the key is printed once, as the last line:
           realname apikeys create --name crm --scopes verifications:read,events:read [--app wx…|--all-apps]
           A key reaches the users and events of one Mini Program: --app names it (needed
           when several are configured; with one, that one), --all-apps reaches every one.
  list     show every key: id, prefix, name, scopes, app, created, last use, revoked
  revoke   end a key at once: realname apikeys revoke --id 3

Scopes: `+strings.Join(apikey.Scopes(), ", "))
	name := fs.String("name", "", "create: what the key is for (the business system's name)")
	scopes := fs.String("scopes", "", "create: comma-separated scopes")
	id := fs.Int64("id", 0, "revoke: the key's id (from list)")
	app := fs.String("app", "", "create: the appid of the Mini Program whose users and events the key reaches")
	allApps := fs.Bool("all-apps", false, "create: the key reaches every configured Mini Program's users and events")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sub != "create" && sub != "list" && sub != "revoke" {
		fs.Usage()
		return fmt.Errorf("apikeys: want create, list or revoke")
	}
	env, err := openCmdEnv(environ, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	if err := model.Migrate(env.ctx, env.db); err != nil {
		return err
	}
	clk := clock.System{}
	keys := apikey.New(apikey.Deps{DB: env.db, Trail: store.New(env.db, clk, env.log), PerSecond: 1, Apps: appIDs(cmdApps(env.cfg)), Clock: clk, Log: env.log})
	switch sub {
	case "create":
		if *allApps {
			if *app != "" {
				return fmt.Errorf("apikeys create: --app and --all-apps exclude each other")
			}
			*app = apikey.AllApps
		}
		k, full, err := keys.Create(env.ctx, *name, strings.Split(*scopes, ","), *app, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created key %d %q with scopes %s for %s; store it now, it is not shown again:\n", k.ID, k.Name,
			strings.Join(k.Scopes, ","), appLabel(k))
		fmt.Fprintln(stdout, full)
	case "list":
		list, err := keys.List(env.ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tPREFIX\tNAME\tSCOPES\tAPP\tCREATED\tLAST USED\tREVOKED")
		for _, k := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, strings.Join(k.Scopes, ","), appLabel(k),
				k.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), stamp(k.LastUsedAt), stamp(k.RevokedAt))
		}
		return w.Flush()
	case "revoke":
		if *id <= 0 {
			return fmt.Errorf("apikeys revoke: --id is required")
		}
		if err := keys.Revoke(env.ctx, *id, "cli"); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked key "+strconv.FormatInt(*id, 10))
	}
	return nil
}

// appLabel says which apps a key reaches; a key made before keys were
// bound to apps says so, so an operator knows to replace it.
func appLabel(k apikey.Key) string {
	label := k.AppID
	if label == apikey.AllApps {
		label = "all-apps"
	}
	if k.Legacy {
		label += " (made before keys had an app)"
	}
	return label
}

// appIDs lists the appids of apps.
func appIDs(apps []config.WeChatApp) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.AppID
	}
	return out
}

// cmdApps is the apps serve runs with: the configured ones, or the
// sandbox's own app when none is configured and the sandbox starts.
func cmdApps(cfg config.Config) []config.WeChatApp {
	if apps := cfg.WeChat.AppList(); len(apps) > 0 || !cfg.SandboxMode() {
		return apps
	}
	return []config.WeChatApp{{AppID: sandbox.SandboxAppID}}
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
