package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"realname/config"
	"realname/service/pii"
)

// masterKeyRing returns the personal-data key ring. Outside production a
// missing key is generated once into DATA_DIR so `go run .` just works; the
// file is the only copy, so losing it loses the encrypted data.
func masterKeyRing(cfg config.Config, log *slog.Logger) (*pii.KeyRing, error) {
	spec := cfg.MasterKey
	if spec == "" {
		path := filepath.Join(cfg.DataDir, "master.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			spec = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			if spec, err = pii.GenerateKeySpec(); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create %s: %w", cfg.DataDir, err)
			}
			if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
			log.Warn("generated a development master key; set REALNAME_MASTER_KEY in production", "path", path)
		default:
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	ring, err := pii.ParseKeyRing(spec)
	if err != nil {
		return nil, fmt.Errorf("REALNAME_MASTER_KEY: %w", err)
	}
	return ring, nil
}
