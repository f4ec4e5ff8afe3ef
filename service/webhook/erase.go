package webhook

import (
	"context"

	"gorm.io/gorm"

	"realname/service/webhook/internal/whstore"
)

// Erase blanks what receivers answered to the events of these
// verifications. The dispatcher stores no request bodies (it renders them
// from the outbox row, which verify's erasure rewrites), but a receiver may
// echo the body back, and its answer is kept. tx is the caller's
// transaction, so erasure stays all-or-nothing.
func Erase(ctx context.Context, tx *gorm.DB, verificationIDs []int64) error {
	return whstore.EraseAnswers(ctx, tx, verificationIDs)
}

// Erase is the package function Erase on the service's database.
func (s *Service) Erase(ctx context.Context, verificationIDs []int64) error {
	return s.st.EraseAnswers(ctx, verificationIDs)
}
