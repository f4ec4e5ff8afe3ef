package config

import (
	"strings"
	"testing"
)

// FuzzEnvValue: any value of any REALNAME_* variable loads to a valid
// configuration or stops the start with an error naming the variable,
// never a panic.
func FuzzEnvValue(f *testing.F) {
	fields := Fields()
	for i, v := range []string{"8080", "30s", "true", "-1", "1e9", "wechat,apizero", "postgres://u:p@h/db", "9223372036854775807", "\x00", "🙂"} {
		f.Add(uint(i*7), v)
	}
	f.Fuzz(func(t *testing.T, i uint, value string) {
		field := fields[i%uint(len(fields))]
		if strings.HasSuffix(field.Key, "_FILE") || field.Key == Prefix+"CONFIG" {
			return // paths, read from disk
		}
		cfg, err := Load([]string{field.Key + "=" + value})
		if err != nil {
			if !strings.Contains(err.Error(), strings.TrimPrefix(field.Key, Prefix)) {
				t.Fatalf("%s=%q: the error does not name the variable: %v", field.Key, value, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s=%q loaded but does not validate: %v", field.Key, value, err)
		}
	})
}
