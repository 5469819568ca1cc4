package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/store/mongotest"
)

// TestMain lets a test run this binary as the real program: with
// BFF_TEST_MAIN set, it is main() with the arguments in BFF_TEST_ARGS.
func TestMain(m *testing.M) {
	if os.Getenv("BFF_TEST_MAIN") != "" {
		os.Args = append([]string{"server"}, strings.Fields(os.Getenv("BFF_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	code := mongotest.Main(m)
	stopChromium()
	removeTemplates()
	os.Exit(code)
}

func TestBadConfigurationStopsWithOneLogLine(t *testing.T) {
	dir := t.TempDir()
	aFile := dir + "/not-a-directory"
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args string
		env  []string
		want string
	}{
		{"unknown flag", "-no-such-flag", nil, "bad command line"},
		{"bad log level", "", []string{"LOG_LEVEL=loud"}, "bad LOG_LEVEL"},
		{"bad duration", "", []string{"SESSION_TTL=forever"}, "bad SESSION_TTL"},
		{"bad switch", "", []string{"PLAYGROUND=maybe"}, "bad PLAYGROUND"},
		{"unwritable data directory", "", []string{"DATA_DIR=" + aFile + "/data"}, "create data directory"},
		{"unreachable MongoDB", "", []string{"MONGODB_URI=mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"}, "reach MongoDB"},
		{"malformed MongoDB URI", "", []string{"MONGODB_URI=postgres://nope"}, "MONGODB_URI"},
		{"bad listen address", "", []string{"LISTEN_ADDR=127.0.0.1:-1"}, "listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "BFF_TEST_MAIN=1", "BFF_TEST_ARGS="+tt.args, "DATA_DIR="+t.TempDir(), "LISTEN_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0")
			cmd.Env = append(cmd.Env, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the process did not stop")
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero exit code", err)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want 1:\n%s", len(lines), stderr.String())
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
				t.Fatalf("not a JSON log line: %q", lines[0])
			}
			if msg, _ := entry["error"].(string); entry["level"] != "error" || !strings.Contains(msg, tt.want) {
				t.Fatalf("log line %q, want an error mentioning %q", lines[0], tt.want)
			}
		})
	}
}

func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{"LISTEN_ADDR": ":9000", "PLAYGROUND": "on", "ALLOWED_ORIGINS": "https://a.example, https://b.example/", "LOG_LEVEL": "warn"}
	cfg, err := parseConfig([]string{"-listen-addr", ":9100"}, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != ":9100" || !cfg.Playground || cfg.LogLevel.String() != "warn" || cfg.DataDir != "./data" {
		t.Fatalf("config = %+v", cfg)
	}
	if strings.Join(cfg.AllowedOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("origins = %v", cfg.AllowedOrigins)
	}
}

// GraphQL comes as POST with a JSON body, as GET (queries only:
// TestGraphQLOverGET) or over a WebSocket; no other transport is served.
func TestGraphQLRefusesOtherTransports(t *testing.T) {
	s := startTest(t, nil)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
	}{
		{"form post", http.MethodPost, "application/x-www-form-urlencoded", "query=%7B__typename%7D"},
		{"multipart post", http.MethodPost, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--x--\r\n"},
		{"text post", http.MethodPost, "text/plain", `{"query":"{__typename}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL()+"/graphql?query=%7B__typename%7D", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Fatalf("status %d, want a refusal", resp.StatusCode)
			}
		})
	}
}

func TestIntrospectionOnlyThroughThePlaygroundForAdmins(t *testing.T) {
	const introspect = `{ __schema { queryType { name } } }`
	for _, on := range []bool{false, true} {
		s := startTest(t, func(c *config) { c.Playground = on })
		admin, support := s.login(t, "admin@demo.test"), s.login(t, "support@demo.test")
		for _, q := range []string{introspect, `{ __type(name: "Query") { name } }`, `query { ...I } fragment I on Query { __schema { types { name } } }`} {
			// A client's mistake: a client error code, and no error in the log.
			if resp := s.post(t, admin, q, nil); dig(resp.Data, "__schema") != nil || dig(resp.Data, "__type") != nil || resp.code() != "GRAPHQL_VALIDATION_FAILED" {
				t.Errorf("playground %v: /graphql answered introspection %s: %+v", on, q, resp)
			}
		}
		if strings.Contains(s.logs.String(), `"level":"error"`) {
			t.Errorf("refused introspection logged as an error:\n%s", s.logs.String())
		}
		if code, _ := get(t, s.URL()+"/playground"); (code == 200) != on {
			t.Errorf("playground %v: /playground = %d", on, code)
		}
		if !on {
			resp, err := http.Post(s.URL()+"/playground/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("playground off: /playground/graphql = %d, want 404", resp.StatusCode)
			}
			continue
		}
		if status, resp := postTo(t, s.URL()+"/playground/graphql", admin, introspect, nil); dig(resp.Data, "__schema", "queryType", "name") != "Query" {
			t.Errorf("an admin's introspection through the playground: %d %+v", status, resp)
		}
		// As deep as GraphiQL's own introspection query, deeper than MAX_DEPTH.
		deep := `{ __schema { types { fields { type { ` + strings.Repeat("ofType { ", 10) + "name" + strings.Repeat(" }", 15)
		if status, resp := postTo(t, s.URL()+"/playground/graphql", admin, deep, nil); dig(resp.Data, "__schema") == nil {
			t.Errorf("a deep introspection through the playground: %d %+v", status, resp)
		}
		if status, resp := postTo(t, s.URL()+"/playground/graphql", admin, `{ viewer { ... on Operator { role } } }`, nil); dig(resp.Data, "viewer", "role") != "ADMIN" {
			t.Errorf("the playground does not run an admin's query: %d %+v", status, resp)
		}
		for _, c := range []struct {
			token, code string
			status      int
		}{{support, codeForbidden, 403}, {"", codeUnauthenticated, 401}, {"not-a-session", codeUnauthenticated, 401}} {
			status, resp := postTo(t, s.URL()+"/playground/graphql", c.token, introspect, nil)
			if status != c.status || resp.code() != c.code || resp.Data != nil {
				t.Errorf("token %.8q: %d %+v, want %d %s and no data", c.token, status, resp, c.status, c.code)
			}
		}
	}
}

func TestParserTokenAndComplexityLimits(t *testing.T) {
	s := startTest(t, func(c *config) { c.TokenLimit = 100; c.ComplexityMax = 5 })
	long := "{" + strings.Repeat(" __typename", 200) + " }"
	if resp := s.post(t, "", long, nil); len(resp.Errors) == 0 {
		t.Errorf("a query over the token limit ran: %+v", resp)
	}
	complex := `{ a: viewer { __typename } b: viewer { __typename } c: viewer { __typename } d: viewer { __typename } e: viewer { __typename } f: viewer { __typename } }`
	if resp := s.post(t, "", complex, nil); resp.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Errorf("a query over the complexity limit: %+v, want COMPLEXITY_LIMIT_EXCEEDED", resp)
	}
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BFF_TEST_MAIN=1", "DATA_DIR="+t.TempDir(), "LISTEN_ADDR=127.0.0.1:0", "METRICS_ADDR=127.0.0.1:0", "DEMO_PASSWORD="+testPassword)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), `"message":"ready"`) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("never ready:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Fatalf("no shutdown line:\n%s", stderr.String())
	}
}
