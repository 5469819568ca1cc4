package main

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/demo"
)

func TestAPIAnswersAreNeitherStoredNorSniffed(t *testing.T) {
	s := startTest(t, func(c *config) { c.Playground = true })
	check := func(name string, resp *http.Response) {
		t.Helper()
		resp.Body.Close()
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, resp.Header)
		}
	}
	for _, url := range []string{s.URL() + "/healthz", s.URL() + "/readyz", s.URL() + "/graphql", s.metricsURL()} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		check("GET "+url, resp)
	}
	for _, path := range []string{"/graphql", "/playground/graphql"} {
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
		if err != nil {
			t.Fatal(err)
		}
		check("POST "+path, resp)
	}
}

func TestMetricsListenOnTheirOwnAddress(t *testing.T) {
	cfg, err := parseConfig(nil, func(string) string { return "" }, nil)
	if err != nil || cfg.MetricsAddr != "127.0.0.1:9464" {
		t.Fatalf("default METRICS_ADDR = %q, %v; want loopback", cfg.MetricsAddr, err)
	}
	cfg, err = parseConfig([]string{"-metrics-addr", "off"}, func(string) string { return "" }, nil)
	if err != nil || cfg.MetricsAddr != "" {
		t.Fatalf("METRICS_ADDR=off gives %q, %v", cfg.MetricsAddr, err)
	}
	s := startTest(t, func(c *config) { c.MetricsAddr = "" })
	if s.metricsListener != nil {
		t.Fatal("metrics served although turned off")
	}
	if code, _ := get(t, s.URL()+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics on the service port: %d", code)
	}
}

func TestNoSchemaSuggestionsOutsideThePlayground(t *testing.T) {
	s := startTest(t, func(c *config) { c.Playground = true })
	admin := s.login(t, demo.AdminEmail)
	for _, q := range []string{
		`{ auditLg { totalCount } }`,                  // a field
		`{ customers(frist: 1) { totalCount } }`,      // an argument
		`{ customers(status: ACTIV) { totalCount } }`, // an enum value
	} {
		for _, token := range []string{"", admin} {
			resp := s.post(t, token, q, nil)
			if len(resp.Errors) == 0 || strings.Contains(resp.Errors[0].Message, "Did you mean") {
				t.Errorf("/graphql %s: %+v", q, resp)
			}
		}
		// The admin playground keeps them: it may introspect anyway.
		if _, resp := postTo(t, s.URL()+"/playground/graphql", admin, q, nil); len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, "Did you mean") {
			t.Errorf("playground %s: %+v", q, resp)
		}
	}
}

func TestQueryCacheIsBoundedByBytes(t *testing.T) {
	s := startTest(t, func(c *config) { c.MaxBodyBytes = 2 << 20 })
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	// 100 distinct valid documents of 1 MiB each (a comment pads them, so
	// they stay far under the token limit), then 200 of 60 KiB.
	for i := range 300 {
		size := 1 << 20
		if i >= 100 {
			size = 60 << 10
		}
		q := fmt.Sprintf("{ __typename } # %d %s", i, strings.Repeat("x", size))
		if resp := s.post(t, "", q, nil); dig(resp.Data, "__typename") != "Query" {
			t.Fatalf("query %d: %+v", i, resp.Errors)
		}
	}
	after := heap()
	grown := int64(after) - int64(before)
	t.Logf("live heap grew by %.1f MiB after 100 MiB + 12 MiB of distinct queries", float64(grown)/(1<<20))
	// queryCacheBytes of text plus their parsed documents, with room for the
	// server's own allocations; gqlgen's 1,000-entry cache kept 75 MiB here.
	if grown > 3*queryCacheBytes+8<<20 {
		t.Fatalf("live heap grew by %d bytes", grown)
	}
}

func TestListsCountWithTheirPageSize(t *testing.T) {
	f := newAccountFixture(t, nil)
	admin := f.login(t, demo.AdminEmail)
	for i := range 3 {
		f.startAssist(t, admin, fmt.Sprint("history ", i))
	}
	id := f.customerID()
	nested := func(levels int, first string) string {
		q := "id"
		for range levels {
			q = fmt.Sprintf("customer { accessHistory%s { assistSession { %s } } }", first, q)
		}
		return fmt.Sprintf(`{ node(id: %q) { ... on Customer { accessHistory%s { assistSession { %s } } } } }`, id, first, q)
	}
	for _, c := range []struct {
		name, query, code string
	}{
		{"one level", nested(0, ""), ""},
		{"two levels", nested(1, ""), ""},
		{"three levels: the cube of the assistances", nested(2, ""), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"two levels of 100", nested(1, "(first: 100)"), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"100 customers' devices", `{ customers(first: 100) { edges { node { devices { id name model online } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"25 customers' devices", `{ customers(first: 25) { edges { node { devices { id name model online } } } } }`, ""},
		{"a page past the bound", fmt.Sprintf(`{ node(id: %q) { ... on Customer { accessHistory(first: 101) { changes { action } } } } }`, id), "BAD_USER_INPUT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if resp := f.post(t, admin, c.query, nil); resp.code() != c.code {
				t.Fatalf("code %q, want %q: %+v", resp.code(), c.code, resp.Errors)
			}
		})
	}
}

func TestStartAssistIsRateLimitedPerOperator(t *testing.T) {
	f := newAccountFixture(t, nil)
	support, admin := f.login(t, demo.SupportEmail), f.login(t, demo.AdminEmail)
	for i := range assist.StartBurst {
		f.startAssist(t, support, fmt.Sprint("call ", i))
	}
	resp := f.post(t, support, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "one more"})
	if resp.code() != codeRateLimited {
		t.Fatalf("start %d: %+v", assist.StartBurst+1, resp)
	}
	// Another operator has a bucket of its own.
	f.startAssist(t, admin, "escalated")
}

func TestReasonsCannotLieToTheCustomer(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			f := newAccountFixture(t, kind.edit(t))
			admin := f.login(t, demo.AdminEmail)
			resp := f.post(t, admin, startAssistMutation, map[string]any{"id": f.customerID(), "reason": "Ticket \u202e1174"})
			if code := dig(resp.Data, "startAssist", "userErrors"); resp.code() != "" || fmt.Sprint(code) != "[map[code:INVALID field:[reason]]]" {
				t.Fatalf("a reason with a bidi override: %+v", resp)
			}
			resp = f.post(t, admin, setStatusMutation, map[string]any{"id": f.customerID(), "status": "DISABLED", "reason": "fraud\u2066ring"})
			if dig(resp.Data, "setAccountStatus", "changed") != false || dig(resp.Data, "setAccountStatus", "customer") != nil {
				t.Fatalf("a disable reason with a bidi isolate: %+v", resp)
			}
			sessions := f.post(t, admin, `query($id: ID) { assistSessions(customerId: $id) { edges { node { id } } } }`, map[string]any{"id": f.customerID()})
			if edges, _ := dig(sessions.Data, "assistSessions", "edges").([]any); len(edges) != 0 {
				t.Fatalf("refused reasons started an assistance: %+v", sessions)
			}
			// Several lines are a reason's right.
			if _, ticket := f.startAssist(t, admin, "Ticket 4711\nCaller verified"); ticket == "" {
				t.Fatal("a two-line reason was refused")
			}
		})
	}
}

func TestMalformedBodiesAreNotEchoed(t *testing.T) {
	s := startTest(t, nil)
	for name, body := range map[string]string{
		"a truncated sign-in": `{"query":"mutation { login(input: {domain: \"demo\", email: \"casey@example.com\", password: \"MySecretPw123\"}) { token } }",`,
		"900 KB of garbage":   `{"query": ` + strings.Repeat("MySecretPw123 ", 64<<10),
	} {
		resp, err := http.Post(s.URL()+"/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(answer), "MySecretPw123") || len(answer) > 1024 || !strings.Contains(string(answer), "BAD_REQUEST") {
			t.Errorf("%s: %d, %d bytes: %.300s", name, resp.StatusCode, len(answer), answer)
		}
	}
}
