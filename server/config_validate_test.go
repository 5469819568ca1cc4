package main

import (
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/clock"
)

// TestConfigStartRefusesInvalid checks that start validates the configuration
// it is given, whoever built it: an error naming the setting, no panic and
// nothing written to the data directory.
func TestConfigStartRefusesInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config)
		want string
	}{
		{"zero session TTL", func(c *config) { c.SessionTTL = 0 }, "SESSION_TTL"},
		{"negative ping interval", func(c *config) { c.WSPing = -1 }, "WS_PING_INTERVAL"},
		{"zero complexity limit", func(c *config) { c.ComplexityMax = 0 }, "COMPLEXITY_LIMIT"},
		{"negative aliases", func(c *config) { c.MaxAliases = -1 }, "MAX_ALIASES"},
		{"zero body size", func(c *config) { c.MaxBodyBytes = 0 }, "MAX_BODY_BYTES"},
		{"password minimum too short", func(c *config) { c.PasswordMin = 7 }, "PASSWORD_MIN_LENGTH"},
		{"password minimum too long", func(c *config) { c.PasswordMin = 65 }, "PASSWORD_MIN_LENGTH"},
		{"no listen address", func(c *config) { c.ListenAddr = "" }, "LISTEN_ADDR"},
		{"no store", func(c *config) { c.DataDir = "" }, "DATA_DIR"},
		{"no instance id", func(c *config) { c.InstanceID = "" }, "INSTANCE_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DataDir = t.TempDir()
			tt.edit(&cfg)
			srv, err := start(context.Background(), cfg, clock.System(), zerolog.New(io.Discard), io.Discard)
			if err == nil {
				_ = srv.shutdown(context.Background())
				t.Fatal("start accepted the configuration")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %s", err, tt.want)
			}
			if cfg.DataDir != "" {
				if entries, _ := os.ReadDir(cfg.DataDir); len(entries) > 0 {
					t.Fatalf("start wrote %s before refusing", entries[0].Name())
				}
			}
		})
	}
}

// TestConfigDefaultsAreOneSource checks that the flags' defaults are
// defaultConfig's, and that the defaults and the tests' configuration
// validate.
func TestConfigDefaultsAreOneSource(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.InstanceID = cfg.InstanceID
	if cfg.InstanceID == "" || !strings.HasSuffix(cfg.InstanceID, want.ListenAddr) {
		t.Errorf("default INSTANCE_ID = %q, want the host name and %s", cfg.InstanceID, want.ListenAddr)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("parsed defaults differ from defaultConfig():\n got %+v\nwant %+v", cfg, want)
	}
	test := testConfig()
	test.DataDir = t.TempDir()
	if err := test.validate(); err != nil {
		t.Errorf("testConfig() does not validate: %v", err)
	}
}
