package resolvers_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/tokens"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/resolvers"
)

// countingStore is a real SQLite store that counts how often totals are computed.
type countingStore struct {
	store.Store
	counts atomic.Int32
}

func (s *countingStore) CountCustomerMatches(ctx context.Context, q customers.SearchQuery) (int64, error) {
	s.counts.Add(1)
	return s.Store.CountCustomerMatches(ctx, q)
}

// setup returns a GraphQL endpoint over a real store and an operator token.
func setup(t *testing.T) (*countingStore, string, string) {
	t.Helper()
	ctx := context.Background()
	base, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = base.Close(ctx) })
	st := &countingStore{Store: base}
	d := storetest.NewDomain(t, st)
	if err := st.ImportCustomers(ctx, []customers.Customer{storetest.NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")}, nil); err != nil {
		t.Fatal(err)
	}
	op := operators.Operator{ID: ids.New(), DomainID: d.ID, Name: "Op", Email: "op@example.com", Role: operators.RoleSupport, Status: operators.StatusActive}
	if err := st.CreateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	token := tokens.New()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.CreateSession(ctx, sessions.Session{TokenHash: tokens.Hash(token), Kind: sessions.KindOperator, DomainID: d.ID, SubjectID: op.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	hasher, clock := passwords.NewHasher(passwords.OWASP, 1, time.Second), func() time.Time { return time.Now().UTC() }
	policy, _ := passwords.NewPolicy(passwords.DefaultMinLength)
	r := &resolvers.Resolver{
		SessionService:  sessions.NewService(st, hasher, policy, clock, time.Hour, sessions.WithFailureFloor(0)),
		OperatorService: operators.NewService(st, nil, passwords.Policy{}, time.Now),
		CustomerService: customers.NewService(st, hasher, policy, clock),
		DeviceService:   devices.NewService(st, clock),
		DomainStore:     st,
	}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r}))
	srv.AddTransport(transport.POST{})
	srv.AroundOperations(resolvers.AroundOperations)
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		srv.ServeHTTP(w, req.WithContext(resolvers.WithToken(req.Context(), token)))
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return st, ts.URL, token
}

func post(t *testing.T, url, query string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"query":`+quote(query)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func TestTotalCountOnlyWhenAsked(t *testing.T) {
	st, url, _ := setup(t)
	if body := post(t, url, `{ customers(query: "ada") { edges { node { email } } } }`); !strings.Contains(body, "ada@example.com") {
		t.Fatalf("search: %s", body)
	}
	if n := st.counts.Load(); n != 0 {
		t.Fatalf("counted %d times without totalCount in the query", n)
	}
	if body := post(t, url, `{ customers(query: "ada") { totalCount } }`); !strings.Contains(body, `"totalCount":1`) {
		t.Fatalf("totalCount: %s", body)
	}
	if n := st.counts.Load(); n != 1 {
		t.Fatalf("counted %d times for one totalCount", n)
	}
}

func TestCursorsMustComeFromTheAPI(t *testing.T) {
	_, url, _ := setup(t)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, after := range []string{
		"not base64!",
		enc(`{"e":false}`),         // no id
		enc(`{"i":"x","extra":1}`), // unknown field
		enc(`{"i":"x"} {"i":"y"}`), // trailing data
		enc(`[1,2,3]`),             // not an object
		strings.Repeat("A", 5000),  // too long
	} {
		body := post(t, url, `{ customers(after: `+quote(after)+`) { totalCount } }`)
		if !strings.Contains(body, "after is not a cursor") {
			t.Errorf("after %.40q: %s", after, body)
		}
	}
}
