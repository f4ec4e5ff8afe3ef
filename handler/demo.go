package handler

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"realname/service/wording"
	"realname/testdata/idcard"
)

// demoSample is one synthetic card as the /demo page lists it. The name and
// number are invented test data (see testdata/idcard), so showing them in
// clear is fine; real answers of the API never do.
type demoSample struct {
	Key      string `json:"key"`
	Front    string `json:"front"`
	Back     string `json:"back"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	ValidTo  string `json:"valid_to"`
	Check    string `json:"check"` // what the sandbox's name+ID check answers
}

// demoSamples is the body of GET /demo/samples.json.
type demoSamples struct {
	Synthetic bool         `json:"synthetic"`
	Cards     []demoSample `json:"cards"`
	NotACard  string       `json:"not_a_card"`
}

const notACardImage = "not_a_card.png"

// mountDemo adds the sandbox walkthrough: GET /demo, a phone-width page
// that walks the Mini Program's steps with the example's texts against the
// API, with a developer panel (requests, raw answers, sample cards), and
// the synthetic sample cards it uploads, and POST /demo/face, the face
// check's outcome chosen on the page (demo_face.go). Mount it only in sandbox mode: the samples are useless, and
// the page misleading, against real upstreams.
func mountDemo(r *gin.Engine, log *slog.Logger, tmpl *template.Template, consentVersion, sandboxURL string) {
	samples, allowed, loadErr := loadDemoSamples()
	r.POST("/demo/face", demoFace(log, sandboxURL))
	r.GET("/demo", func(c *gin.Context) {
		var buf bytes.Buffer
		// Rendered into a buffer first so a template error becomes a clean
		// JSON 500 instead of half a page.
		// The page speaks what the Mini Program's user would read: Chinese,
		// or English on ?lang=en or an English Accept-Language.
		lang := wording.FromAcceptLanguage(c.GetHeader("Accept-Language"))
		switch c.Query("lang") {
		case "en":
			lang = wording.English
		case "zh-CN", "zh":
			lang = wording.Chinese
		}
		if err := tmpl.ExecuteTemplate(&buf, "demo.html", gin.H{"ConsentVersion": consentVersion, "Lang": string(lang)}); err != nil {
			log.Error("render demo", "err", err)
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
			return
		}
		c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
	})
	r.GET("/demo/samples.json", func(c *gin.Context) {
		if loadErr != nil {
			log.Error("load demo samples", "err", loadErr)
			abortWithError(c, http.StatusInternalServerError, CodeInternal, "internal error")
			return
		}
		c.JSON(http.StatusOK, samples)
	})
	r.GET("/demo/samples/:name", func(c *gin.Context) {
		name := c.Param("name")
		// Only names from the fixture list reach idcard.Image, so no path
		// trick ("..", "cards.json", "idcard.go") can read anything else.
		if loadErr != nil || !allowed[name] {
			abortWithError(c, http.StatusNotFound, CodeNotFound, "no such sample image")
			return
		}
		data, err := idcard.Image(name)
		if err != nil {
			abortWithError(c, http.StatusNotFound, CodeNotFound, "no such sample image")
			return
		}
		c.Data(http.StatusOK, "image/png", data)
	})
}

// loadDemoSamples lists the sample cards and the image names that may be served.
func loadDemoSamples() (demoSamples, map[string]bool, error) {
	cards, err := idcard.Cards()
	if err != nil {
		return demoSamples{}, nil, err
	}
	out := demoSamples{Synthetic: true, NotACard: notACardImage, Cards: make([]demoSample, 0, len(cards))}
	allowed := map[string]bool{notACardImage: true}
	for _, k := range cards {
		out.Cards = append(out.Cards, demoSample{Key: k.Key, Front: k.Front, Back: k.Back,
			Name: k.Name, IDNumber: k.IDNumber, ValidTo: k.ValidTo, Check: k.Check})
		allowed[k.Front], allowed[k.Back] = true, true
	}
	return out, allowed, nil
}
