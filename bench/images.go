package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"realname/testdata/idcard"
)

// imagesConfig is one `bench images` run.
type imagesConfig struct {
	repo, redis string
	uploads     int
	rounds      int
	side        int
	maxRSS      int64
	memory      string
}

// runImages is `bench images`: the uploads an attacker with an ordinary
// session would send to exhaust memory, many at once, against one
// instance. It passes when the instance's peak RSS stays under -max-rss-mb
// and every upload is answered 2xx, 4xx or 503 busy.
func runImages(parent context.Context, args []string, stdout, stderr io.Writer) error {
	var c imagesConfig
	fs := newFlagSet("images", stderr,
		"Builds the service, starts one instance on SQLite and has -uploads users upload, all at",
		"once and -rounds times, each of the images below; prints what they were answered and the",
		"instance's peak resident memory. Fails over -max-rss-mb, on a 5xx other than 503 busy, or",
		"when the instance dies.",
	)
	fs.StringVar(&c.repo, "repo", "", "repository root to build the service from (default: found from the working directory)")
	fs.StringVar(&c.redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL (keys get a prefix unique to the run, deleted at the end)")
	fs.IntVar(&c.uploads, "uploads", 8, "uploads sent at the same moment")
	fs.IntVar(&c.rounds, "rounds", 2, "times each image is sent by every user")
	fs.IntVar(&c.side, "side", 6320, "width and height of the crafted images (6320 is just under the 40 MP intake cap)")
	fs.Int64Var(&c.maxRSS, "max-rss-mb", 400, "largest acceptable peak RSS of the instance")
	fs.StringVar(&c.memory, "image-memory", "", "REALNAME_IMAGE_MEMORY of the instance (default: the service's)")
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		fmt.Fprintln(stderr, "bench images:", err)
		return errUsage
	}
	if c.uploads < 1 || c.rounds < 1 || c.side < 200 {
		fmt.Fprintln(stderr, "bench images: -uploads and -rounds must be positive, -side at least 200")
		return errUsage
	}
	ctx, cancel := context.WithTimeout(parent, 20*time.Minute)
	defer cancel()

	bombs, err := imageBombs(c.side)
	if err != nil {
		return err
	}
	st, err := newStack(ctx, c.repo)
	if err != nil {
		return err
	}
	defer st.close()
	env := map[string]string{}
	if c.memory != "" {
		env["REALNAME_IMAGE_MEMORY"] = c.memory
	}
	if err := st.start(ctx, stackConfig{instances: 1, db: dbSQLite, redis: c.redis, fakeCache: true, env: env}); err != nil {
		return err
	}
	base := st.urls()[0]
	client := &http.Client{Timeout: reqTimeout}
	tokens := make([]string, c.uploads)
	for i := range tokens {
		a, status, err := postJSON(ctx, client, base+"/api/v1/session", "", fmt.Sprintf(`{"code":"img-%d-%d:1"}`, time.Now().UnixNano(), i))
		if err != nil || status/100 != 2 || a.Token == "" {
			return fmt.Errorf("login %d: status %d: %v", i, status, err)
		}
		tokens[i] = a.Token
	}
	fmt.Fprintf(stdout, "instance idle: peak_rss_mb=%d\n", st.peakRSS()[0]>>20)
	failed := false
	for _, b := range bombs {
		answers := map[string]int{}
		var mu sync.Mutex
		began := time.Now()
		for range c.rounds {
			var wg sync.WaitGroup
			for _, tok := range tokens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := uploadBomb(ctx, client, base, tok, b.data)
					mu.Lock()
					answers[key]++
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
		rss := st.peakRSS()[0] >> 20
		var keys []string
		for k, n := range answers {
			keys = append(keys, fmt.Sprintf("%s×%d", k, n))
			if !acceptableBombAnswer(k) {
				failed = true
			}
		}
		sort.Strings(keys)
		fmt.Fprintf(stdout, "%-8s %6d KB  %d×%d uploads in %.1fs  answers: %s  peak_rss_mb=%d\n",
			b.name, len(b.data)>>10, c.rounds, c.uploads, time.Since(began).Seconds(), strings.Join(keys, ", "), rss)
	}
	if n, first := st.panics(); n > 0 {
		fmt.Fprintf(stdout, "instance panicked %d times: %s\n", n, first)
		failed = true
	}
	if _, status, err := postJSON(ctx, client, base+"/readyz", "", ""); err != nil || status == 0 {
		fmt.Fprintf(stdout, "instance no longer answers: %v\n", err)
		failed = true
	}
	peak := st.peakRSS()[0] >> 20
	if peak > c.maxRSS {
		failed = true
	}
	fmt.Fprintf(stdout, "images: uploads=%d peak_rss_mb=%d max_rss_mb=%d ok=%t\n", c.uploads*c.rounds*len(bombs), peak, c.maxRSS, !failed)
	if failed {
		return errFailed
	}
	return nil
}

// acceptableBombAnswer: a success, a refusal, or 503 busy; never another
// server error or a dropped connection.
func acceptableBombAnswer(key string) bool {
	return strings.HasPrefix(key, "2") || strings.HasPrefix(key, "4") || key == "503 busy"
}

type bomb struct {
	name string
	data []byte
}

// imageBombs are the measured attacks: a flat grayscale PNG (52 KB that
// decodes to 40 MB), its 16-bit RGBA twin (320 MB decoded) and a PNG that
// is only a header announcing the same size.
func imageBombs(side int) ([]bomb, error) {
	gray := image.NewGray(image.Rect(0, 0, side, side))
	for i := range gray.Pix {
		gray.Pix[i] = 0xe0
	}
	rgba := image.NewNRGBA64(image.Rect(0, 0, side, side))
	for y := 0; y < side; y += 97 { // a few lines, so it is not one colour
		for x := 0; x < side; x++ {
			rgba.SetNRGBA64(x, y, color.NRGBA64{R: 0x1000, G: 0x8000, B: 0xffff, A: 0xffff})
		}
	}
	var out []bomb
	for _, b := range []struct {
		name string
		img  image.Image
	}{{"gray8", gray}, {"rgba16", rgba}} {
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, b.img); err != nil {
			return nil, err
		}
		out = append(out, bomb{b.name, buf.Bytes()})
	}
	return append(out, bomb{"header", idcard.PNGClaiming(uint32(side), uint32(side))}), nil
}

// uploadBomb sends data as the front of the card and names the answer
// "status code", or the transport error.
func uploadBomb(ctx context.Context, client *http.Client, base, token string, data []byte) string {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("consent_version", "v1")
	_ = mw.WriteField("side", "front")
	fw, _ := mw.CreateFormFile("image", "card.png")
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/verification/idcard", &body)
	if err != nil {
		return "request " + err.Error()
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "transport " + transportClass(err)
	}
	defer resp.Body.Close()
	var a answer
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a)
	return strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, a.Error.Code))
}

// postJSON posts body (GET when empty) and decodes the answer.
func postJSON(ctx context.Context, client *http.Client, url, token, body string) (answer, int, error) {
	method := http.MethodPost
	if body == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, 0, err
	}
	defer resp.Body.Close()
	var a answer
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&a)
	return a, resp.StatusCode, nil
}
