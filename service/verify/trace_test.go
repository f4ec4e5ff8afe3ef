package verify

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"realname/model/modeltest"
	"realname/service/ocr"
	"realname/service/store"
)

func TestTraceStatements(t *testing.T) {
	db := modeltest.Open(t, modeltest.Backends()[0], true)
	f := newFixture(t, db)
	ctx := context.Background()
	u := f.user(t, "o-trace")
	c, front, back := sampleCard(t, "male")
	f.svc.store = store.New(f.db.Session(&gorm.Session{Logger: logger.Default.LogMode(logger.Info)}), f.clk, quiet)
	fmt.Println("=== FRONT")
	f.svc.Upload(ctx, u, UploadInput{Image: front, Side: ocr.SideFront, Consent: "v1"})
	fmt.Println("=== BACK")
	f.svc.Upload(ctx, u, UploadInput{Image: back, Side: ocr.SideBack})
	fmt.Println("=== SUBMIT")
	f.svc.Submit(ctx, u, Claim{Name: c.Name, IDNumber: c.IDNumber})
	fmt.Println("=== END")
}
