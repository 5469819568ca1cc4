package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/ids"
)

const testPassword = "correct horse battery staple"

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testInstance struct {
	*server
	cfg  config
	logs *syncBuffer
	url  string // set for a server in another process
	// clock is the server's: Advance moves its time (sessions and
	// assistance expire, their sockets close) without sleeping.
	clock *clock.Shifted
}

// now returns the time of the machine, as the stores keep it.
func now() time.Time { return clock.System().Now() }

// URL returns the base URL of the server under test.
func (s *testInstance) URL() string {
	if s.url != "" {
		return s.url
	}
	return s.server.URL()
}

// testConfig returns the configuration of a test server: the defaults, on
// loopback ports picked by the system, with the demo domain signed in with
// testPassword, debug logs and an instance id of its own. DataDir is empty,
// which start refuses: startTest gives each test a directory of its own, so
// that no test writes to the default ./data.
func testConfig() config {
	cfg := defaultConfig()
	cfg.ListenAddr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = ""
	cfg.Demo, cfg.DemoPassword = true, testPassword
	cfg.LogLevel = zerolog.DebugLevel
	cfg.InstanceID = ids.New()
	cfg.SignInTarpit = 10 * time.Millisecond // a refusal's answer is not held for a second
	cfg.SignInFailureFloor = 0               // nor a failure's (sessions' own tests check the floor)
	return cfg
}

// startTest starts a real server on a loopback port with the demo domain on a
// fresh embedded store (edit lets a test change the configuration) and stops
// it when the test ends.
func startTest(t *testing.T, edit func(*config)) *testInstance {
	t.Helper()
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	if edit != nil {
		edit(&cfg)
	}
	copySQLiteDemo(t, cfg)
	logs := &syncBuffer{}
	clk := &clock.Shifted{}
	srv, err := start(context.Background(), cfg, clk, zerolog.New(logs).Level(cfg.LogLevel), io.Discard)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	inst := &testInstance{server: srv, cfg: cfg, logs: logs, clock: clk}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.shutdown(ctx)
	})
	return inst
}

// metricsURL returns the URL of the server's /metrics, on its own listener.
func (s *testInstance) metricsURL() string {
	return "http://" + s.metricsListener.Addr().String() + "/metrics"
}

// gqlResponse is a GraphQL response as a client sees it.
type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string                       `json:"message"`
		Path       []any                        `json:"path"`
		Locations  []struct{ Line, Column int } `json:"locations"`
		Extensions map[string]any               `json:"extensions"`
	} `json:"errors"`
}

// code returns the extensions.code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// post sends one GraphQL request to /graphql over real HTTP.
func (s *testInstance) post(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	_, resp := postTo(t, s.URL()+"/graphql", token, query, vars)
	return resp
}

// postTo sends one GraphQL request to url and returns the status and the answer.
func postTo(t *testing.T, url, token, query string, vars map[string]any) (int, gqlResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response (status %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

const loginMutation = `mutation($domain: String!, $email: String!, $password: String!) {
  operatorLogin(input: {domain: $domain, email: $email, password: $password}) {
    token operator { id email role permissions domain { slug } } userErrors { field message code }
  }
}`

// login signs an operator of the demo domain in and returns its token.
func (s *testInstance) login(t *testing.T, email string) string {
	t.Helper()
	resp := s.post(t, "", loginMutation, map[string]any{"domain": "demo", "email": email, "password": testPassword})
	token, _ := dig(resp.Data, "operatorLogin", "token").(string)
	if token == "" {
		t.Fatalf("login %s: %+v", email, resp)
	}
	return token
}

// dig walks nested JSON objects.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
