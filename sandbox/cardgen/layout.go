package main

import (
	"image"
	"image/color"
	"math"
	"strings"
)

var (
	ink      = color.RGBA{20, 20, 28, 255}
	labelInk = color.RGBA{30, 60, 130, 255}
	emblemR  = color.RGBA{200, 30, 30, 255}
	emblemY  = color.RGBA{240, 200, 60, 255}
)

// front lays out the portrait side. Positions loosely follow the real card
// (fields top-left, photo right, number along the bottom) so that fakes that
// crop regions still find text roughly where OCR vendors report it.
func front(p person, m mosaic) *image.RGBA {
	c := newCanvas(cardW, cardH)
	c.paintMosaic(m, p.tint)

	c.text(40, 60, 2, "XINGMING / NAME", labelInk)
	c.text(40, 100, 3, p.pinyin, ink)

	sex := "NAN (M)"
	if p.sex == "女" {
		sex = "NV (F)"
	}
	c.text(40, 150, 2, "XINGBIE / SEX: "+sex, ink)
	c.text(40, 180, 2, "MINZU / ETHNICITY: "+p.ethnicityPinyin, ink)
	c.text(40, 220, 2, "CHUSHENG / BORN: "+strings.ReplaceAll(p.birth, "-", " "), ink)

	c.text(40, 262, 2, "ZHUZHI / ADDRESS:", labelInk)
	for i, line := range wrap(p.addressPinyin, 36) {
		c.text(40, 295+i*30, 2, line, ink)
	}

	c.text(40, 490, 2, "SHENFEN HAOMA", labelInk)
	c.text(250, 495, 3, p.idNumber(), ink)

	drawPhoto(c, image.Rect(610, 60, 810, 330), p.sex == "女")
	return c.img
}

// drawPhoto is a translucent silhouette rather than an opaque box: an opaque
// photo would be identical on every card and erase the hash bits under it.
func drawPhoto(card canvas, r image.Rectangle, long bool) {
	// Drawing on a sub-image clips the silhouette to the photo box.
	c := canvas{img: card.img.SubImage(r).(*image.RGBA)}
	c.rect(r, color.RGBA{235, 240, 250, 255}, 0.35)
	c.frame(r, 3, labelInk, 0.6)
	cx := float64(r.Min.X+r.Max.X) / 2
	head := float64(r.Dy()) * 0.2
	cy := float64(r.Min.Y) + float64(r.Dy())*0.38
	sil := color.RGBA{60, 60, 80, 255}
	if long {
		c.ellipse(cx, cy+head*0.3, head*1.25, head*1.5, 0, sil, 0.25)
	}
	c.ellipse(cx, cy, head*0.85, head, 0, sil, 0.3)
	shoulders := float64(r.Max.Y) - 2
	c.ellipse(cx, shoulders, float64(r.Dx())*0.42, float64(r.Dy())*0.3, 0, sil, 0.3)
}

// back lays out the emblem side with a different arrangement and its own
// mosaic, so the two sides of one card never hash alike.
func back(p person, m mosaic) *image.RGBA {
	c := newCanvas(cardW, cardH)
	c.paintMosaic(m, p.tint)

	cx, cy := 140.0, 150.0
	c.ellipse(cx, cy, 95, 95, 0.82, emblemY, 0.9)
	c.ellipse(cx, cy, 78, 78, 0, emblemR, 0.55)
	c.star(cx, cy-12, 34, emblemY)
	for i := range 4 {
		c.star(cx-42+float64(i)*28, cy+38, 9, emblemY)
	}

	c.text(270, 110, 2, "ZHONGHUA RENMIN GONGHEGUO", ink)
	c.text(270, 180, 4, "JUMIN", ink)
	c.text(270, 235, 4, "SHENFENZHENG", ink)

	c.text(60, 380, 2, "QIANFA JIGUAN / AUTHORITY", labelInk)
	c.text(60, 412, 2, p.authorityPinyin, ink)
	c.text(60, 460, 2, "YOUXIAO QIXIAN / VALID", labelInk)
	to := strings.ReplaceAll(p.validTo(), "-", ".")
	if to == "长期" {
		to = "CHANGQI"
	}
	c.text(60, 500, 3, strings.ReplaceAll(p.validFrom, "-", ".")+" - "+to, ink)
	return c.img
}

// notACard is a landscape: sky, sun, mountains and a lake. The sky runs
// bright-to-dark left to right and the ridges are jagged, so its hash bits
// are decisive rather than resting on near-equal flat regions that JPEG
// noise could flip.
func notACard() *image.RGBA {
	const w, h = 800, 600
	c := newCanvas(w, h)
	for y := range h {
		for x := range w {
			t := float64(x)/w*0.7 + float64(y)/h*0.3
			c.img.SetRGBA(x, y, color.RGBA{uint8(250 - 140*t), uint8(245 - 110*t), 255 - uint8(60*t), 255})
		}
	}
	c.ellipse(222, 112, 64, 64, 0, color.RGBA{255, 230, 120, 255}, 1)
	c.polygon([][2]float64{{0, 420}, {120, 230}, {230, 360}, {310, 150}, {520, 390}, {700, 250}, {800, 300}, {800, 600}, {0, 600}},
		color.RGBA{70, 100, 80, 255}, 1)
	c.polygon([][2]float64{{0, 500}, {200, 455}, {400, 400}, {600, 380}, {800, 340}, {800, 600}, {0, 600}},
		color.RGBA{40, 70, 50, 255}, 1)
	c.rect(image.Rect(0, 500, w, h), color.RGBA{60, 110, 170, 255}, 0.85)
	// Evening light from the left: the ramp gives the flat mountain and lake
	// areas a left-to-right slope too, so no hash bit compares equal cells.
	for y := range h {
		for x := range w {
			t := float64(x) / w
			i := c.img.PixOffset(x, y)
			for ch := range 3 {
				p := float64(c.img.Pix[i+ch])
				v := p*(1-0.35*t) + 70*(1-t)*(1-p/255)
				c.img.Pix[i+ch] = uint8(math.Round(math.Min(255, v)))
			}
		}
	}
	return c.img
}

// wrap breaks s at spaces into lines of at most n characters.
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
