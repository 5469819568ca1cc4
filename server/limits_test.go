package main

import (
	"bytes"
	"encoding/json"
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

// What gqlparser's validation costs grows with the square of what a
// document repeats (Field Selection Merging compares every two fields of one
// response key, and reports every pair that conflicts), so a small anonymous
// document could cost seconds of CPU and gigabytes of memory before any limit
// that runs after validation saw it. documentLimits refuses such documents
// first, with a short answer that quotes nothing of them; documents of the
// sizes clients send go on to validation as before.
func TestValidationCostIsBoundedBeforeValidation(t *testing.T) {
	s := startTest(t, func(c *config) { c.MaxSelections = 100 })
	repeat := func(n int, field string) string { return strings.Repeat(" "+field, n) }
	conflicting := func(n int) string { // status is OperatorStatus! on Operator, AccountStatus! on Customer
		return "query Q { viewer { ... on Operator {" + repeat(n, "status") + " } ... on Customer {" + repeat(n, "status") + " } } }"
	}
	fragments := func(n int) string { // viewer, n spreads, n fields: 2n+1 selections, none repeated in a set
		var spreads, defs strings.Builder
		for i := range n {
			fmt.Fprintf(&spreads, " ...F%d", i)
			fmt.Fprintf(&defs, " fragment F%d on Viewer { __typename }", i)
		}
		return "query { viewer {" + spreads.String() + " } }" + defs.String()
	}
	tests := []struct {
		name, query string
		refused     bool
	}{
		// The try-out's documents: 640,000 errors in a 184 MB answer, and
		// 2.4 s of CPU, before.
		{"800 conflicting fields", conflicting(400), true},
		{"4,970 copies of a field", "query Q { viewer { ... on Operator {" + repeat(4970, "name") + " } } }", true},
		{"101 selections", fragments(50), true},
		{"99 selections", fragments(49), false},
		{"11 fields of one response key through inline fragments", "{ viewer { ... on Operator {" + repeat(6, "id") + " } ... on Customer {" + repeat(5, "id") + " } } }", true},
		{"the same in a fragment", "query { viewer { ...V } } fragment V on Viewer { ... on Operator {" + repeat(6, "id") + " } ... on Customer {" + repeat(5, "id") + " } }", true},
		// At the limits, validation runs as before: 5 and 5 conflicting
		// fields are 25 conflicts, each reported.
		{"10 fields of one response key", "{ viewer { ... on Operator {" + repeat(5, "id") + " } ... on Customer {" + repeat(5, "id") + " } } }", false},
		{"10 conflicting fields", conflicting(5), false},
		{"one key in ten sets", "{" + strings.Repeat(" viewer { __typename }", 10) + " }", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": tt.query})
			resp, err := http.Post(s.URL()+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var out gqlResponse
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("answer %d: %v", resp.StatusCode, err)
			}
			if refused := out.code() == codeQueryTooLarge; refused != tt.refused {
				t.Fatalf("refused = %v, want %v: %.300s", refused, tt.refused, raw)
			}
			if !tt.refused {
				return
			}
			if len(out.Errors) != 1 || len(raw) > 512 || resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("refusal: %d, %d bytes: %.300s; want one short error", resp.StatusCode, len(raw), raw)
			}
			for _, quoted := range []string{"status", "name", "__typename", "id\"", "Operator"} {
				if strings.Contains(out.Errors[0].Message, quoted) {
					t.Errorf("the refusal %q quotes the document (%s)", out.Errors[0].Message, quoted)
				}
			}
		})
	}
	if resp := s.post(t, "", conflicting(5), nil); len(resp.Errors) != 25 {
		t.Errorf("5 and 5 conflicting fields: %d errors, want the 25 conflicts validation reports", len(resp.Errors))
	}
}
