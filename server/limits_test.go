package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/iotconsole/bff/internal/demo"
)

func TestOperationShapeLimits(t *testing.T) {
	s := startTest(t, func(c *config) { c.MaxDepth = 4 })
	token := s.login(t, demo.AdminEmail)
	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, " a%d: %s", i, field)
		}
		return b.String()
	}
	logins := "mutation {" + aliases(100, `operatorLogin(input: {domain: "demo", email: "admin@demo.test", password: "guess"}) { token }`) + " }"
	tests := []struct {
		name, query string
		refused     bool
	}{
		{"deep", `{ node(id: "x") { ... on AssistSession { customer { devices { settings { mode } } } } } }`, true},
		{"deep through a fragment", `query { node(id: "x") { ...A } } fragment A on AssistSession { customer { devices { settings { mode } } } }`, true},
		{"as deep as allowed", `{ viewer { ... on Customer { devices { settings { mode } } } } }`, false},
		{"31 aliases", "{" + aliases(31, "__typename") + " }", true},
		{"10 root fields", "{" + aliases(10, "__typename") + " }", false},
		{"11 root fields", "{" + aliases(11, "__typename") + " }", true},
		{"100 sign-ins in one request", logins, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.post(t, token, tt.query, nil)
			if refused := resp.code() == codeQueryTooLarge; refused != tt.refused {
				t.Fatalf("refused = %v, want %v: %+v", refused, tt.refused, resp)
			}
		})
	}
	// Normal traffic goes on.
	if resp := s.post(t, token, `{ viewer { __typename } }`, nil); resp.code() != "" {
		t.Fatalf("after the refusals: %+v", resp)
	}
}

func TestRequestShapesRefusedAtTheDoor(t *testing.T) {
	s := startTest(t, func(c *config) { c.MaxBodyBytes = 4096 })
	post := func(body string) int {
		resp, err := http.Post(s.URL()+"/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`[{"query":"{ __typename }"},{"query":"{ __typename }"}]`); code < 400 {
		t.Errorf("a JSON batch answered %d", code)
	}
	big := `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 8000) + `"}}`
	if code := post(big); code < 400 {
		t.Errorf("a body over the limit answered %d", code)
	}
	if code := post(`{"query":"{ __typename }"}`); code != http.StatusOK {
		t.Errorf("a normal request answered %d", code)
	}
	// A body that does not say its length (chunked) is held to the same limit.
	chunked := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/graphql", io.MultiReader(strings.NewReader(body)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := chunked(big); resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a chunked body over the limit: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := chunked(`{"query":"{ __typename }"}`); resp.StatusCode != http.StatusOK {
		t.Errorf("a chunked normal request answered %d", resp.StatusCode)
	}
}

func TestWebSocketMessageSizeLimit(t *testing.T) {
	s := startTest(t, func(c *config) { c.WSMaxMessage = 2048 })
	c, _, err := dialWS(t, s, "graphql-transport-ws", "")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.init(map[string]any{"token": s.login(t, demo.SupportEmail)}); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("init: %v %v", ack, err)
	}
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }", "variables": map[string]any{"pad": strings.Repeat("x", 4096)}}})
	for {
		_, err := c.next()
		if err != nil {
			if closeCode(err) != websocket.CloseMessageTooBig && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("after an oversized message: %v", err)
			}
			return
		}
	}
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	s := startTest(t, func(c *config) { c.AllowedOrigins = []string{"https://console.example.com"} })
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.URL()+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight("https://console.example.com"); resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://console.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight of the allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight("https://evil.example"); resp.StatusCode < 400 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of another origin: %d %v", resp.StatusCode, resp.Header)
	}
	for origin, want := range map[string]string{"https://console.example.com": "https://console.example.com", "https://evil.example": ""} {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/graphql", bytes.NewReader([]byte(`{"query":"{ __typename }"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("POST from %s: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
	}
}
