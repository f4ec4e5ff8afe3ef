package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"realname/model"
	"realname/model/modeltest"
	"realname/sandbox"
	"realname/service/ocr"
)

// sentImages records the photos an apizero client sends.
type sentImages struct {
	mu   sync.Mutex
	imgs [][]byte
}

func (s *sentImages) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var req struct {
		InputData string `json:"input_data"`
	}
	if json.Unmarshal(body, &req) == nil {
		if img, err := base64.StdEncoding.DecodeString(req.InputData); err == nil {
			s.mu.Lock()
			s.imgs = append(s.imgs, img)
			s.mu.Unlock()
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return http.DefaultTransport.RoundTrip(r)
}

// TestUploadCutsBytesAfterJPEGEnd: a ZIP appended to the photo of a card
// (the image ends at its EOI marker) reaches neither the blob store nor
// the vendor; the card is still read.
func TestUploadCutsBytesAfterJPEGEnd(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		sent := &sentImages{}
		az := ocr.NewApizero(f.srv.URL()+sandbox.ApizeroPrefix, sandbox.SandboxApizeroKey, &http.Client{Transport: sent, Timeout: 10 * time.Second})
		f.svc.ocr = ocr.NewChain([]ocr.Provider{az}, ocr.ChainOptions{}, quiet, prometheus.NewRegistry())
		_, front, _ := sampleCard(t, "male")
		img, err := png.Decode(bytes.NewReader(front))
		if err != nil {
			t.Fatal(err)
		}
		var jpg bytes.Buffer
		if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		zip := []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00hidden.txt payload PK\x05\x06")
		upload := append(append([]byte{}, jpg.Bytes()...), zip...)
		u := f.user(t, "o-trailer")
		v, err := f.svc.Upload(context.Background(), u, UploadInput{Image: upload, Side: ocr.SideFront, Consent: "v1"})
		if err != nil || v.Front == nil || v.Front.Name == "" {
			t.Fatalf("upload: %+v %v", v, err)
		}
		var row model.Verification
		if err := f.db.Where("user_id = ?", u.ID).First(&row).Error; err != nil {
			t.Fatal(err)
		}
		stored, err := f.blobs.Get(context.Background(), row.FrontBlob)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(stored, []byte{0xFF, 0xD9}) || bytes.Contains(stored, []byte("PK\x03\x04")) {
			t.Errorf("the stored photo keeps what followed EOI (%d bytes, the image is %d)", len(stored), jpg.Len())
		}
		sent.mu.Lock()
		defer sent.mu.Unlock()
		if len(sent.imgs) == 0 {
			t.Fatal("no photo reached the vendor")
		}
		for _, s := range sent.imgs {
			if !bytes.HasSuffix(s, []byte{0xFF, 0xD9}) || bytes.Contains(s, []byte("PK\x03\x04")) {
				t.Errorf("the vendor got what followed EOI (%d bytes, the image is %d)", len(s), jpg.Len())
			}
		}
	})
}
