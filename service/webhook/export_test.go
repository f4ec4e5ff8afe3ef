package webhook

import "context"

// Sweep runs one pass of the lease sweep, for tests that race it.
func (s *Service) Sweep(ctx context.Context) error { return s.sweep(ctx) }

// FanOut runs one fan-out pass, for tests that count its statements.
func (s *Service) FanOut(ctx context.Context) (int, error) { return s.fanout(ctx) }

// Work claims, sends and records one batch, for tests that count its statements.
func (s *Service) Work(ctx context.Context) (int, error) { return s.work(ctx) }
