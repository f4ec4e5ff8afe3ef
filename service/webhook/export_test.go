package webhook

import "context"

// Sweep runs one pass of the lease sweep, for tests that race it.
func (s *Service) Sweep(ctx context.Context) error { return s.sweep(ctx) }
