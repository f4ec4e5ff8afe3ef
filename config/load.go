package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A hand-written loader rather than a generic env library: we need unknown
// REALNAME_* variables rejected, *_FILE variants for secrets, env winning over
// YAML without defaults clobbering the file, and errors naming the variable,
// which the libraries we looked at (caarlos0/env) report by Go field name.

// Field describes one environment variable for --help and docs.
type Field struct {
	Key     string // full variable name
	YAML    string // dotted YAML path
	Secret  bool
	Help    string
	Default string // empty for secrets
}

// Load builds the configuration from defaults, then the YAML file named by
// REALNAME_CONFIG (if any), then the environment, and validates it.
func Load(environ []string) (Config, error) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, Prefix) {
			env[k] = v
		}
	}
	cfg := Default()
	if path := env[Prefix+"CONFIG"]; path != "" {
		if err := loadYAML(path, &cfg); err != nil {
			return cfg, err
		}
	}
	known := map[string]bool{Prefix + "CONFIG": true}
	var errs []error
	walk(reflect.ValueOf(&cfg).Elem(), Prefix, "", func(v reflect.Value, f Field) {
		known[f.Key] = true
		raw, ok := env[f.Key]
		if f.Secret {
			known[f.Key+"_FILE"] = true
			if path, set := env[f.Key+"_FILE"]; set && !ok {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("config: %s_FILE: %w", f.Key, err))
					return
				}
				raw, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			return
		}
		if err := setValue(v, raw); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", f.Key, err))
		}
	})
	var unknown []string
	for k := range env {
		// REALNAME_TEST_* belong to the test suites, not the service.
		if !known[k] && !strings.HasPrefix(k, Prefix+"TEST_") {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, fmt.Errorf("config: %s: unknown variable (see --help for the list)", k))
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, cfg.Validate()
}

func loadYAML(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: REALNAME_CONFIG: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file decodes as io.EOF: it sets nothing, which is fine.
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// Fields lists every environment variable with its default, for --help.
func Fields() []Field {
	cfg := Default()
	var out []Field
	walk(reflect.ValueOf(&cfg).Elem(), Prefix, "", func(v reflect.Value, f Field) {
		if !f.Secret {
			f.Default = format(v)
		}
		out = append(out, f)
	})
	return out
}

// walk visits every field that has an env tag, descending into nested structs.
func walk(v reflect.Value, envPrefix, yamlPrefix string, visit func(reflect.Value, Field)) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		key, hasEnv := sf.Tag.Lookup("env")
		yamlKey := yamlPrefix + sf.Tag.Get("yaml")
		if sf.Type.Kind() == reflect.Struct && sf.Type != reflect.TypeOf(time.Duration(0)) {
			walk(v.Field(i), envPrefix+key, yamlKey+".", visit)
			continue
		}
		if !hasEnv {
			continue
		}
		visit(v.Field(i), Field{
			Key:    envPrefix + key,
			YAML:   yamlKey,
			Secret: sf.Tag.Get("secret") == "true",
			Help:   sf.Tag.Get("help"),
		})
	}
}

func setValue(v reflect.Value, raw string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("not a duration such as 30s or 5m: %q", raw)
		}
		v.SetInt(int64(d))
	case string:
		v.SetString(raw)
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not a boolean (true/false): %q", raw)
		}
		v.SetBool(b)
	case int, int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", raw)
		}
		v.SetInt(n)
	case []string:
		var list []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		v.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

func format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case []string:
		return strings.Join(x, ",")
	case time.Duration:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// LogValue shows the configuration in logs with every secret replaced, so the
// effective settings can be logged at start without leaking credentials.
func (c Config) LogValue() slog.Value {
	var attrs []slog.Attr
	walk(reflect.ValueOf(&c).Elem(), Prefix, "", func(v reflect.Value, f Field) {
		val := format(v)
		if f.Secret && val != "" {
			val = "[set]"
		}
		attrs = append(attrs, slog.String(strings.TrimPrefix(f.Key, Prefix), val))
	})
	attrs = append(attrs, slog.Int("WECHAT_APPS", len(c.WeChat.Apps)))
	return slog.GroupValue(attrs...)
}
