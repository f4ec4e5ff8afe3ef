// Command serverapi is the README's client of the server API: it prints a
// user's verification state, then follows the event feed from a cursor
// kept in a file, printing each event once.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"
)

func main() {
	base := flag.String("base", "http://localhost:8080", "the realname server")
	key := flag.String("key", os.Getenv("REALNAME_API_KEY"), "an API key (rnk_…) with verifications:read and events:read")
	openid := flag.String("openid", "", "a user's openid to ask about first")
	cursorFile := flag.String("cursor", "realname.cursor", "where the feed's cursor is kept between runs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *openid != "" {
		st, err := status(ctx, *key, *base, *openid)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("state:", st)
	}
	load := func() string { b, _ := os.ReadFile(*cursorFile); return string(b) }
	save := func(c string) {
		if err := os.WriteFile(*cursorFile, []byte(c), 0o600); err != nil {
			log.Print(err)
		}
	}
	err := pull(ctx, *key, *base, load, save, func(ev json.RawMessage) error {
		fmt.Println(string(ev))
		return nil
	})
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// status asks whether an openid is verified.
func status(ctx context.Context, key, base, openid string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/server/v1/users/"+url.PathEscape(openid)+"/verification", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var v struct{ State string }
	err = json.NewDecoder(resp.Body).Decode(&v)
	return v.State, err
}

// pull handles every event once, resuming from the cursor it saved last.
func pull(ctx context.Context, key, base string, load func() string, save func(string), handle func(json.RawMessage) error) error {
	cursor := load() // "" the first time
	for ctx.Err() == nil {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("after", cursor)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/server/v1/events?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(5 * time.Second)
			continue
		}
		var page struct {
			Events []json.RawMessage
			Next   string
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode == http.StatusGone {
			cursor = "" // past retention: start from the oldest kept, reconcile by status
			continue
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			time.Sleep(5 * time.Second)
			continue
		}
		for _, ev := range page.Events {
			if err := handle(ev); err != nil { // idempotent by the event's "id"
				return err
			}
		}
		cursor = page.Next
		save(cursor) // after handling: a crash re-reads, never skips
		if len(page.Events) == 0 {
			time.Sleep(2 * time.Second)
		}
	}
	return ctx.Err()
}
