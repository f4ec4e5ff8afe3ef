// Package config holds the one typed configuration of realname, loaded from
// REALNAME_* environment variables and an optional YAML file.
package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Prefix starts every environment variable the service reads.
const Prefix = "REALNAME_"

// Environment names accepted in REALNAME_ENV.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is everything the service can be told at start. The `env` tag is the
// variable name after Prefix, `yaml` the key in the file, `secret` keeps the
// value out of logs and help output, `help` documents it.
type Config struct {
	Env             string        `env:"ENV" yaml:"env" help:"development or production; production refuses dev conveniences (generated keys, in-process Redis, sandbox)"`
	HTTPAddr        string        `env:"HTTP_ADDR" yaml:"http_addr" help:"listen address of the HTTP server"`
	DataDir         string        `env:"DATA_DIR" yaml:"data_dir" help:"directory for the SQLite file, blobs and the dev master key"`
	DatabaseURL     string        `env:"DATABASE_URL" yaml:"database_url" secret:"true" help:"empty: SQLite in DATA_DIR; postgres://… or mysql://…"`
	RedisURL        string        `env:"REDIS_URL" yaml:"redis_url" secret:"true" help:"empty: in-process Redis (not for production); redis://, rediss://, redis-sentinel://, redis-cluster://"`
	RedisPrefix     string        `env:"REDIS_PREFIX" yaml:"redis_prefix" help:"prefix of every Redis key, so several deployments can share one Redis"`
	MasterKey       string        `env:"MASTER_KEY" yaml:"master_key" secret:"true" help:"personal-data key ring: kid:base64(32 bytes)[,kid:base64…], first encrypts; generated in DATA_DIR in development"`
	LogLevel        string        `env:"LOG_LEVEL" yaml:"log_level" help:"debug, info, warn or error"`
	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" yaml:"max_body_bytes" help:"largest JSON request body"`
	MaxUploadBytes  int64         `env:"MAX_UPLOAD_BYTES" yaml:"max_upload_bytes" help:"largest multipart upload (ID-card photos)"`
	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT" yaml:"request_timeout" help:"deadline given to each request's context"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" yaml:"shutdown_timeout" help:"how long in-flight requests and workers get to finish on SIGTERM"`
	Sandbox         bool          `env:"SANDBOX" yaml:"sandbox" help:"serve the in-process upstream fakes and point every client at them"`
	SandboxAddr     string        `env:"SANDBOX_ADDR" yaml:"sandbox_addr" help:"listen address of the sandbox fakes (default: a free loopback port)"`

	WeChat   WeChat   `env:"WECHAT_" yaml:"wechat"`
	Apizero  Apizero  `env:"APIZERO_" yaml:"apizero"`
	Apistore Apistore `env:"APISTORE_" yaml:"apistore"`
	Acedata  Acedata  `env:"ACEDATA_" yaml:"acedata"`

	OCROrder     []string `env:"OCR_ORDER" yaml:"ocr_order" help:"OCR providers in the order they are tried; a provider without credentials is skipped"`
	IDCheckOrder []string `env:"IDCHECK_ORDER" yaml:"idcheck_order" help:"name/ID verification providers in the order they are tried"`
}

// WeChat configures the Mini Program(s) whose users are verified.
type WeChat struct {
	AppID     string      `env:"APPID" yaml:"appid" help:"Mini Program app id; empty (and no apps list) starts the sandbox"`
	Secret    string      `env:"SECRET" yaml:"secret" secret:"true" help:"Mini Program app secret"`
	Apps      []WeChatApp `yaml:"apps" help:"YAML only: several Mini Programs, each {appid, secret}"`
	APIBase   string      `env:"API_BASE" yaml:"api_base" help:"base URL of the WeChat API"`
	TokenMode string      `env:"TOKEN_MODE" yaml:"token_mode" help:"stable (cgi-bin/stable_token) or classic (cgi-bin/token)"`
}

// WeChatApp is one Mini Program's credentials.
type WeChatApp struct {
	AppID  string `yaml:"appid"`
	Secret string `yaml:"secret" secret:"true"`
}

// Apizero configures the apizero ocr-idcard vendor.
type Apizero struct {
	Key     string `env:"KEY" yaml:"key" secret:"true" help:"apizero API key (X-Api-Key)"`
	BaseURL string `env:"BASE_URL" yaml:"base_url" help:"apizero base URL"`
}

// Apistore configures the API-store 身份证信息识别 vendor.
type Apistore struct {
	AppID  string `env:"APPID" yaml:"appid" help:"API-store appid"`
	Secret string `env:"SECRET" yaml:"secret" secret:"true" help:"API-store signing secret"`
	URL    string `env:"URL" yaml:"url" help:"full API-store endpoint URL (the vendor's document hides it behind a login)"`
}

// Acedata configures the Acedata-style recognition and name/ID check vendor.
type Acedata struct {
	Key     string `env:"KEY" yaml:"key" secret:"true" help:"Acedata API key (authorization header)"`
	BaseURL string `env:"BASE_URL" yaml:"base_url" help:"Acedata base URL"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Env:             EnvDevelopment,
		HTTPAddr:        ":8080",
		DataDir:         "./data",
		RedisPrefix:     "realname:",
		LogLevel:        "info",
		MaxBodyBytes:    64 << 10,
		MaxUploadBytes:  10 << 20,
		RequestTimeout:  30 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		SandboxAddr:     "127.0.0.1:0",
		WeChat:          WeChat{APIBase: "https://api.weixin.qq.com", TokenMode: "stable"},
		OCROrder:        []string{"wechat", "apizero", "apistore", "acedata"},
		IDCheckOrder:    []string{"acedata"},
	}
}

// Production reports whether dev conveniences must be refused.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// SandboxMode reports whether the in-process upstream fakes serve: when asked,
// and always when no WeChat credentials are configured outside production.
func (c *Config) SandboxMode() bool {
	return c.Sandbox || (!c.Production() && c.WeChat.AppID == "" && len(c.WeChat.Apps) == 0)
}

// Validate checks values and their combinations, naming the variable at fault.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, Prefix+key+": "+fmt.Sprintf(format, args...))
	}
	if c.Env != EnvDevelopment && c.Env != EnvProduction {
		bad("ENV", "must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.Env)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("HTTP_ADDR", "not a host:port address: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.SandboxAddr); err != nil {
		bad("SANDBOX_ADDR", "not a host:port address: %v", err)
	}
	if c.DataDir == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || !slices.Contains([]string{"postgres", "postgresql", "mysql", "sqlite"}, u.Scheme) {
			bad("DATABASE_URL", "must be a postgres://, mysql:// or sqlite:// URL")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || !slices.Contains([]string{"redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster"}, u.Scheme) {
			bad("REDIS_URL", "must be a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL")
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.MaxBodyBytes < 1<<10 {
		bad("MAX_BODY_BYTES", "must be at least 1024")
	}
	if c.MaxUploadBytes < 1<<20 {
		bad("MAX_UPLOAD_BYTES", "must be at least 1048576 (ID-card photos are often over 1 MB)")
	}
	if c.RequestTimeout <= 0 {
		bad("REQUEST_TIMEOUT", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	c.validateUpstreams(bad)
	if c.Production() {
		if c.MasterKey == "" {
			bad("MASTER_KEY", "is required in production (personal data cannot be encrypted without it)")
		}
		if c.RedisURL == "" {
			bad("REDIS_URL", "is required in production (the in-process Redis is not shared and not durable)")
		}
		if c.Sandbox {
			bad("SANDBOX", "cannot be on in production")
		}
		if c.WeChat.AppID == "" && len(c.WeChat.Apps) == 0 {
			bad("WECHAT_APPID", "is required in production")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (c *Config) validateUpstreams(bad func(key, format string, args ...any)) {
	if c.WeChat.AppID != "" && c.WeChat.Secret == "" {
		bad("WECHAT_SECRET", "is required when REALNAME_WECHAT_APPID is set")
	}
	seen := map[string]bool{c.WeChat.AppID: c.WeChat.AppID != ""}
	for i, app := range c.WeChat.Apps {
		if app.AppID == "" || app.Secret == "" {
			bad("WECHAT_APPS", "entry %d needs both appid and secret", i)
		}
		if seen[app.AppID] {
			bad("WECHAT_APPS", "app id %q is configured twice", app.AppID)
		}
		seen[app.AppID] = true
	}
	if u, err := url.Parse(c.WeChat.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("WECHAT_API_BASE", "must be an http(s) URL")
	}
	if c.WeChat.TokenMode != "stable" && c.WeChat.TokenMode != "classic" {
		bad("WECHAT_TOKEN_MODE", "must be stable or classic, got %q", c.WeChat.TokenMode)
	}
	if (c.Apistore.AppID == "") != (c.Apistore.Secret == "") {
		bad("APISTORE_SECRET", "REALNAME_APISTORE_APPID and REALNAME_APISTORE_SECRET go together")
	}
	if c.Apistore.AppID != "" && c.Apistore.URL == "" && !c.SandboxMode() {
		bad("APISTORE_URL", "is required when API-store credentials are set")
	}
	for key, raw := range map[string]string{"APIZERO_BASE_URL": c.Apizero.BaseURL, "APISTORE_URL": c.Apistore.URL, "ACEDATA_BASE_URL": c.Acedata.BaseURL} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(key, "must be an http(s) URL")
		}
	}
	checkOrder := func(key string, order, known []string) {
		if len(order) == 0 {
			bad(key, "must name at least one provider")
		}
		for _, p := range order {
			if !slices.Contains(known, p) {
				bad(key, "unknown provider %q (known: %s)", p, strings.Join(known, ", "))
			}
		}
	}
	checkOrder("OCR_ORDER", c.OCROrder, []string{"wechat", "apizero", "apistore", "acedata"})
	checkOrder("IDCHECK_ORDER", c.IDCheckOrder, []string{"acedata"})
}
