package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/resolvers"
)

func TestPresentErrorMapsDomainErrorsToCodes(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{fmt.Errorf("load: %w", apperr.ErrNotFound), codeNotFound},
		{apperr.ErrUnauthenticated, codeUnauthenticated},
		{fmt.Errorf("x: %w", apperr.ErrForbidden), codeForbidden},
		{apperr.ErrAccountDisabled, codeAccountDisabled},
		{apperr.ErrRateLimited, codeRateLimited},
		{apperr.ErrUnavailable, codeUnavailable},
		{apperr.Invalid("query", "TOO_LONG", "too long"), codeBadUserInput},
	}
	for _, tt := range tests {
		if got := presentError(context.Background(), tt.err).Extensions["code"]; got != tt.code {
			t.Errorf("presentError(%v) code = %v, want %s", tt.err, got, tt.code)
		}
	}
}

func TestMalformedBodiesAreNotLogged(t *testing.T) {
	s := startTest(t, nil)
	secret := "hunter2-secret-password"
	resp, err := http.Post(s.URL()+"/graphql", "application/json", strings.NewReader(`{"query": "mutation", "variables": {"password": "`+secret+`"`))
	if err != nil {
		t.Fatal(err)
	}
	var out gqlResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out.code() != codeBadRequest {
		t.Fatalf("malformed body: %+v, want BAD_REQUEST", out)
	}
	if strings.Contains(s.logs.String(), secret) {
		t.Fatal("the malformed body reached the logs")
	}
}

// A body with more after its JSON object, or naming a key twice (which a
// proxy or a log may read as the first where the server ran the last), is
// refused as a body that is no JSON request, and runs nothing (tryout 19:
// both were run, a logout behind a query's key among them); a key written
// with an escape counts as itself, and a key's name inside a value is no key.
func TestAmbiguousBodiesAreRefused(t *testing.T) {
	f := newAccountFixture(t, nil)
	token, _, _ := f.customerLogin(t, customerPassword)
	for _, body := range []string{
		`{"query":"{ viewer { __typename } }"} trailing`,
		`{"query":"{ viewer { __typename } }"}{"query":"mutation { logout { success } }"}`,
		`{"query":"{ viewer { __typename } }","query":"mutation { logout { success } }"}`,
		`{"query":"{ viewer { __typename } }","\u0071uery":"mutation { logout { success } }"}`,
		`{"query":"{ viewer { __typename } }","variables":{},"variables":{"a":1}}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, f.URL()+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out gqlResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.code() != codeBadRequest || out.Data != nil {
			t.Errorf("%s: %d %+v, want BAD_REQUEST and nothing run", body, resp.StatusCode, out)
		}
	}
	if resp := f.post(t, token, viewerQuery, nil); dig(resp.Data, "viewer", "email") != customerEmail {
		t.Fatalf("a refused body signed the customer out: %+v", resp)
	}
	// A value that holds a key's name is no second key.
	resp := f.post(t, token, `query($q: String) { customers(query: $q, first: 1) { edges { cursor } } }`, map[string]any{"q": `"query" "variables" \u0071`})
	if resp.code() != codeForbidden { // run, and refused to a customer
		t.Errorf("a request whose variable names the keys: %+v, want it run (FORBIDDEN to a customer)", resp)
	}
}

func TestUnexpectedErrorsAreLoggedAndHidden(t *testing.T) {
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(context.Background())
	gerr := presentError(ctx, errors.New("dial tcp 10.0.0.7:27017: secret internals"))
	if gerr.Message != "internal error" || gerr.Extensions["code"] != codeInternal {
		t.Fatalf("presented %q %v", gerr.Message, gerr.Extensions)
	}
	if !strings.Contains(logs.String(), "secret internals") {
		t.Fatalf("the cause was not logged: %q", logs.String())
	}
}

// A request whose client has gone by the time it runs (the request's context
// done: a load generator ending its run, a browser tab closed) is dropped
// without a word: no panic, no "internal error" in the log. (gqlgen's
// executor answers nothing then, and leanPOST read that nothing's fields.)
func TestRequestOfAClientGoneIsDroppedQuietly(t *testing.T) {
	var logs syncBuffer
	gql := newGraphQLHandler(defaultConfig(), &resolvers.Resolver{}, newGorillaSockets(nil, defaultSocketsPerAccount, clock.System(), func(int) {}), newMetrics())
	h := hlog.NewHandler(zerolog.New(&logs))(hlog.RequestIDHandler("req_id", "X-Request-Id")(gql))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if strings.Contains(logs.String(), "panicked") || strings.Contains(logs.String(), "internal error") {
		t.Fatalf("a request whose client had gone was logged as a failure: %s", logs.String())
	}
	if strings.Contains(rec.Body.String(), "internal error") {
		t.Fatalf("answered %q", rec.Body.String())
	}
}

// A resolver that panics (here: a service left out of the wiring) answers
// "internal error" with the request id in the log, and the server keeps serving.
func TestPanicsAreRecovered(t *testing.T) {
	var logs syncBuffer
	cfg := defaultConfig()
	m := newMetrics()
	gql := newGraphQLHandler(cfg, &resolvers.Resolver{}, newGorillaSockets(nil, defaultSocketsPerAccount, clock.System(), func(int) {}), m)
	h := hlog.NewHandler(zerolog.New(&logs))(hlog.RequestIDHandler("req_id", "X-Request-Id")(gql))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for range 2 {
		body := `{"query":"mutation { operatorLogin(input:{domain:\"d\",email:\"e\",password:\"p\"}) { token } }"}`
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out gqlResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.code() != codeInternal || out.Errors[0].Message != "internal error" {
			t.Fatalf("panic answered %+v", out)
		}
	}
	if !strings.Contains(logs.String(), "resolver panicked") || !strings.Contains(logs.String(), `"req_id"`) {
		t.Fatalf("panic not logged with a request id: %s", logs.String())
	}
}
