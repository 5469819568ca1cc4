package resolvers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// TestLoadersKeepDomainsApart loads the objects of one domain, in the same
// batches, for their own domain and for another, and an id of nothing: only
// their own domain gets them, another learns no more than of the unknown id.
func TestLoadersKeepDomainsApart(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	mine, other := storetest.NewDomain(t, st), storetest.NewDomain(t, st)
	c := storetest.NewCustomer(mine, "Ada", "Lovelace", "ada@example.com", "")
	if err := st.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	op := operators.Operator{ID: ids.New(), DomainID: mine.ID, Name: "Op", Email: "op@example.com", Role: operators.RoleSupport, Status: operators.StatusActive}
	if err := st.CreateOperator(ctx, op); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	a := assist.Session{ID: ids.New(), DomainID: mine.ID, CustomerID: c.ID, OperatorID: op.ID, Reason: "help", StartedAt: at,
		ExpiresAt: at.Add(time.Hour), State: assist.StateActive, TicketHash: ids.New(), TicketExpiresAt: at.Add(time.Minute)}
	actor := audit.Actor{Type: audit.ActorOperator, ID: op.ID, ActingFor: c.ID, AssistID: a.ID, DomainID: mine.ID}
	if err := st.CreateAssist(ctx, a, audit.Record{}, nil); err != nil {
		t.Fatal(err)
	}
	audit.Append(ctx, st, at, actor.Record(audit.ActionDeviceUpdated, "device", ids.New(), ""))
	clock := func() time.Time { return time.Now().UTC() }
	policy, _ := passwords.NewPolicy(passwords.DefaultMinLength)
	r := &Resolver{OperatorService: operators.NewService(st, nil, passwords.Policy{}, time.Now), CustomerService: customers.NewService(st, nil, policy, clock),
		AssistService: assist.NewService(st, clock, time.Hour)}
	l := r.newLoaders(true)
	own, foreign := loaderKey{mine.ID, ""}, loaderKey{other.ID, ""}
	key := func(k loaderKey, id string) loaderKey { k.id = id; return k }

	check := func(what string, load func(loaderKey, string) (any, error), id string) {
		t.Helper()
		foreignDone, missingDone := make(chan error, 1), make(chan error, 1)
		// Concurrent: usually the same batch.
		go func() { _, err := load(foreign, id); foreignDone <- err }()
		go func() { _, err := load(own, ids.New()); missingDone <- err }()
		if _, err := load(own, id); err != nil {
			t.Errorf("%s of its own domain: %v", what, err)
		}
		if err := <-foreignDone; !errors.Is(err, apperr.ErrOtherDomain) {
			t.Errorf("%s of another domain: %v, want ErrOtherDomain", what, err)
		}
		if err := <-missingDone; !errors.Is(err, apperr.ErrNotFound) || errors.Is(err, apperr.ErrOtherDomain) {
			t.Errorf("%s that does not exist: %v, want ErrNotFound", what, err)
		}
	}
	check("customer", func(k loaderKey, id string) (any, error) { return l.customers.Load(ctx, key(k, id)) }, c.ID)
	check("operator", func(k loaderKey, id string) (any, error) { return l.operators.Load(ctx, key(k, id)) }, op.ID)
	check("assist session", func(k loaderKey, id string) (any, error) { return l.assists.Load(ctx, key(k, id)) }, a.ID)

	if records, err := l.changes.Load(ctx, key(own, a.ID)); err != nil || len(records) != 1 {
		t.Errorf("changes in their own domain: %d, %v", len(records), err)
	}
	if records, err := l.changes.Load(ctx, key(foreign, a.ID)); err != nil || len(records) != 0 {
		t.Errorf("changes in another domain: %d records, %v", len(records), err)
	}
}

// TestOnlyQueriesRememberLoads: a mutation's later fields must see what its
// earlier ones changed, and a subscription's events what is current.
func TestOnlyQueriesRememberLoads(t *testing.T) {
	if st := withLoaders(context.Background()).Value(loadersKey{}).(*loaderState); st.cached {
		t.Error("loaders outside an operation remember what they read")
	}
	for op, want := range map[ast.Operation]bool{ast.Query: true, ast.Mutation: false, ast.Subscription: false} {
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: op}})
		st := withLoaders(ctx).Value(loadersKey{}).(*loaderState)
		if st.cached != want {
			t.Errorf("%s: cached = %v, want %v", op, st.cached, want)
		}
	}
}
