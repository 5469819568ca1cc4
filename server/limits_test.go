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
	// The server may close and reset the connection before the client has
	// written the whole message: a write that fails so is the refusal too.
	big := map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }", "variables": map[string]any{"pad": strings.Repeat("x", 4096)}}}
	if err := c.conn.WriteJSON(big); err != nil {
		if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
			t.Fatalf("write the oversized message: %v", err)
		}
		return
	}
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
// document repeats (Field Selection Merging compares every two fields that
// share a response path, fragments expanded, and reports every pair that
// conflicts), so a small anonymous document could cost seconds of CPU and
// gigabytes of memory before any limit that runs after validation saw it.
// documentLimits refuses such documents first, with a short answer that
// quotes nothing of them; documents of the sizes and shapes clients send
// (Apollo Client's __typename in every set and fragment included) go on to
// validation as before, and an answer of request errors holds at most 100.
func TestValidationCostIsBoundedBeforeValidation(t *testing.T) {
	s := startTest(t, nil)
	repeat := func(n int, field string) string { return strings.Repeat(" "+field, n) }
	conflicting := func(n int) string { // status is OperatorStatus! on Operator, AccountStatus! on Customer
		return "query Q { viewer { ... on Operator {" + repeat(n, "status") + " } ... on Customer {" + repeat(n, "status") + " } } }"
	}
	// n fragments on Query, each selecting fields, spread into one set.
	fragments := func(n int, fields string) string {
		var spreads, defs strings.Builder
		for i := range n {
			fmt.Fprintf(&spreads, " ...F%d", i)
			fmt.Fprintf(&defs, " fragment F%d on Viewer {%s }", i, fields)
		}
		return "query { viewer { __typename" + spreads.String() + " } }" + defs.String()
	}
	tests := []struct {
		name, query string
		refused     bool
	}{
		// The try-outs' documents: 160,000 errors in a 46 MB answer and
		// 6.5 s of CPU; 101,025 errors in 25 MB; 2.4 s of CPU; before.
		{"800 conflicting fields", conflicting(400), true},
		{"45 fragments of 10 copies, spread into one set", fragments(45, repeat(10, "__typename")), true},
		{"4,970 copies of a field", "query Q { viewer { ... on Operator {" + repeat(4970, "name") + " } } }", true},
		{"20 fields of one key, each with 20 of another", "{" + strings.Repeat(" viewer {"+repeat(20, "__typename")+" }", 20) + " }", true},
		// Clients' shapes, and the limit's edge: validation runs as before
		// (5 and 5 conflicting fields are 25 conflicts, each reported).
		{"10 conflicting fields", conflicting(5), false},
		{"Apollo-like: 20 fragments with __typename and id", strings.Replace(fragments(20, " __typename ... on Customer { id } ... on Operator { id }"), "viewer { __typename", "viewer { __typename ... on Customer { id }", 1), false},
		{"100 fields of one key: 4,950 pairs", "{ viewer {" + repeat(100, "__typename") + " } }", false},
		{"101 fields of one key: 5,050 pairs", "{ viewer {" + repeat(101, "__typename") + " } }", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw, out := postRaw(t, s.URL()+"/graphql", tt.query)
			if refused := out.code() == codeQueryTooLarge; refused != tt.refused {
				t.Fatalf("refused = %v, want %v: %.300s", refused, tt.refused, raw)
			}
			if !tt.refused {
				return
			}
			if len(out.Errors) != 1 || len(raw) > 512 || status != http.StatusOK && status != http.StatusBadRequest {
				t.Errorf("refusal: %d, %d bytes: %.300s; want one short error", status, len(raw), raw)
			}
			for _, quoted := range []string{"status", "name", "__typename", "Operator"} {
				if strings.Contains(out.Errors[0].Message, quoted) {
					t.Errorf("the refusal %q quotes the document (%s)", out.Errors[0].Message, quoted)
				}
			}
		})
	}
	if resp := s.post(t, "", conflicting(5), nil); len(resp.Errors) != 25 {
		t.Errorf("5 and 5 conflicting fields: %d errors, want the 25 conflicts validation reports", len(resp.Errors))
	}
	// 50 and 50 conflicting fields pass the limits (4,950 pairs) and make
	// 2,500 conflicts: the answer keeps 100 and says so.
	_, raw, out := postRaw(t, s.URL()+"/graphql", conflicting(50))
	if len(out.Errors) != 101 || !strings.Contains(out.Errors[100].Message, "2400 more errors left out") || len(raw) > 64<<10 {
		t.Errorf("2,500 conflicts: %d errors in %d bytes, last %+v; want 100 and a note", len(out.Errors), len(raw), out.Errors[len(out.Errors)-1])
	}

	// MAX_SELECTIONS counts what is written: viewer, n spreads and n fields.
	small := startTest(t, func(c *config) { c.MaxSelections = 100 })
	for n, refused := range map[int]bool{49: false, 50: true} {
		if got := small.post(t, "", fragments(n, " __typename"), nil).code() == codeQueryTooLarge; got != refused {
			t.Errorf("%d selections with MAX_SELECTIONS 100: refused = %v, want %v", 2*n+2, got, refused)
		}
	}
}

// postRaw posts query anonymously and returns the status, the body and the
// answer decoded.
func postRaw(t *testing.T, url, query string) (int, []byte, gqlResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, raw, out
}
