// Command cardgen regenerates the synthetic ID card fixtures in testdata/idcard.
//
// The fixtures are committed, so this only needs to run when the cast in
// people.go or the drawing changes. Output is fully deterministic (no clock,
// no randomness beyond seeded hashes of file names), so a re-run that changes
// nothing produces no diff. Run from the repository root:
//
//	go run ./sandbox/cardgen
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"math/bits"
	"os"
	"path/filepath"
)

// Hash constraints every generated image must meet. The tests demand a
// pairwise distance of 12 and stability within 6 after re-encoding; the
// generator aims well beyond both so that fakes using a slightly different
// resampler still tell the images apart.
const (
	minDistance = 20  // pairwise Hamming distance between rendered hashes
	minMargin   = 8.0 // smallest luminance gap (0-255) behind any hash bit
	maxSalt     = 2000
)

// cardJSON mirrors idcard.Card. It is duplicated rather than imported so
// the generator still builds when the embedded files it writes are missing.
type cardJSON struct {
	Key       string `json:"key"`
	Front     string `json:"front"`
	Back      string `json:"back"`
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	Sex       string `json:"sex"`
	Ethnicity string `json:"ethnicity"`
	Birth     string `json:"birth"`
	Address   string `json:"address"`
	Authority string `json:"authority"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
	Check     string `json:"check"`
}

func main() {
	out := flag.String("out", filepath.Join("testdata", "idcard"), "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	for _, p := range people {
		if err := p.validate(); err != nil {
			return err
		}
	}

	// The landscape goes first: it has no design freedom, so the cards are
	// the ones that must steer clear of its hash.
	scene := notACard()
	code, margin := renderedHash(scene)
	if margin < minMargin {
		return fmt.Errorf("not_a_card.png: hash margin %.1f below %v", margin, minMargin)
	}
	taken := []uint64{code}
	if err := writePNG(filepath.Join(out, "not_a_card.png"), scene); err != nil {
		return err
	}

	var cards []cardJSON
	for _, p := range people {
		c := cardJSON{
			Key: p.key, Front: p.key + "_front.png", Back: p.key + "_back.png",
			Name: p.name, IDNumber: p.idNumber(), Sex: p.sex, Ethnicity: p.ethnicity,
			Birth: p.birth, Address: p.address, Authority: p.authority,
			ValidFrom: p.validFrom, ValidTo: p.validTo(), Check: p.check,
		}
		sides := []struct {
			name   string
			render func(person, mosaic) *image.RGBA
		}{{c.Front, front}, {c.Back, back}}
		for _, side := range sides {
			img, code, err := design(side.name, taken, func(m mosaic) *image.RGBA { return side.render(p, m) })
			if err != nil {
				return err
			}
			taken = append(taken, code)
			if err := writePNG(filepath.Join(out, side.name), img); err != nil {
				return err
			}
		}
		cards = append(cards, c)
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cards); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "cards.json"), buf.Bytes(), 0o644)
}

// design re-salts the mosaic of one image until the rendered result hashes
// far from every image before it and has no near-tie bit. Checking the
// rendered image rather than the bare mosaic matters because the text,
// photo and emblem shift cell brightness enough to flip designed bits.
// Images are processed in table order, so appending a card leaves the
// existing fixtures byte-identical.
func design(name string, taken []uint64, render func(mosaic) *image.RGBA) (*image.RGBA, uint64, error) {
	for salt := range maxSalt {
		img := render(newMosaic(name, salt))
		code, margin := renderedHash(img)
		if margin < minMargin {
			continue
		}
		ok := true
		for _, other := range taken {
			if bits.OnesCount64(code^other) < minDistance {
				ok = false
				break
			}
		}
		if ok {
			return img, code, nil
		}
	}
	return nil, 0, fmt.Errorf("%s: no mosaic within %d salts meets the hash constraints", name, maxSalt)
}

// writePNG uses best compression because the fixtures live in git and the
// flat mosaic compresses very well; the encoder is deterministic.
func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
