package resolvers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/iotconsole/bff/graph"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/tokens"
	"github.com/iotconsole/bff/resolvers"
)

// readCounter is a real SQLite store that counts the calls of every read
// method a page of assist sessions can reach, by id and by batch.
type readCounter struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *readCounter) count(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
}

// take returns the counts so far and starts counting afresh.
func (s *readCounter) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.calls
	s.calls = map[string]int{}
	return calls
}

func (s *readCounter) SessionByHash(ctx context.Context, hash string) (sessions.Session, error) {
	s.count("SessionByHash")
	return s.Store.SessionByHash(ctx, hash)
}

func (s *readCounter) SessionAndOperator(ctx context.Context, hash string) (sessions.Session, sessions.OperatorStanding, error) {
	s.count("SessionAndOperator")
	return s.Store.SessionAndOperator(ctx, hash)
}

func (s *readCounter) OperatorByID(ctx context.Context, id string) (operators.Operator, error) {
	s.count("OperatorByID")
	return s.Store.OperatorByID(ctx, id)
}

func (s *readCounter) OperatorsByIDs(ctx context.Context, ids []string) ([]operators.Operator, error) {
	s.count("OperatorsByIDs")
	return s.Store.OperatorsByIDs(ctx, ids)
}

func (s *readCounter) CustomersByIDs(ctx context.Context, ids []string) ([]customers.Customer, error) {
	s.count("CustomersByIDs")
	return s.Store.CustomersByIDs(ctx, ids)
}

func (s *readCounter) AssistsByIDs(ctx context.Context, ids []string) ([]assist.Session, error) {
	s.count("AssistsByIDs")
	return s.Store.AssistsByIDs(ctx, ids)
}

func (s *readCounter) AuditRecordsOfAssists(ctx context.Context, ids []string) (map[string][]audit.Record, error) {
	s.count("AuditRecordsOfAssists")
	return s.Store.AuditRecordsOfAssists(ctx, ids)
}

func (s *readCounter) CustomerByID(ctx context.Context, id string) (customers.Customer, error) {
	s.count("CustomerByID")
	return s.Store.CustomerByID(ctx, id)
}

func (s *readCounter) DomainByID(ctx context.Context, id string) (domains.Domain, error) {
	s.count("DomainByID")
	return s.Store.DomainByID(ctx, id)
}

func (s *readCounter) AssistByID(ctx context.Context, id string) (assist.Session, error) {
	s.count("AssistByID")
	return s.Store.AssistByID(ctx, id)
}

func (s *readCounter) AssistSessions(ctx context.Context, q assist.Query) ([]assist.Session, error) {
	s.count("AssistSessions")
	return s.Store.AssistSessions(ctx, q)
}

func (s *readCounter) FindAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	s.count("FindAudit")
	return s.Store.FindAudit(ctx, q)
}

func (s *readCounter) DevicesByCustomer(ctx context.Context, id string) ([]devices.Device, error) {
	s.count("DevicesByCustomer")
	return s.Store.DevicesByCustomer(ctx, id)
}

// assistFixture is a domain with five operators, 101 customers and 200
// remote assistances: the 100 oldest of the first customer, then one of
// each other customer, so that the newest n name n distinct customers. The
// operators take turns, every third assistance is ended by the next
// operator and every fifth by the system, and each has one change made
// during it.
type assistFixture struct {
	st        *readCounter
	url       string
	token     string
	customer  string // global id of the customer with 100 assistances
	operators map[string]string
	emails    map[string]string
}

func newAssistFixture(t *testing.T) *assistFixture {
	t.Helper()
	ctx := context.Background()
	base, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = base.Close(ctx) })
	st := &readCounter{Store: base, calls: map[string]int{}}
	d := storetest.NewDomain(t, st)
	f := &assistFixture{st: st, operators: map[string]string{}, emails: map[string]string{}}
	var ops []operators.Operator
	for i, role := range []operators.Role{operators.RoleAdmin, operators.RoleSupport, operators.RoleSupport, operators.RoleSupport, operators.RoleSupport} {
		op := operators.Operator{ID: ids.New(), DomainID: d.ID, Name: fmt.Sprintf("Operator %d", i), Email: fmt.Sprintf("op%d@example.com", i), Role: role, Status: operators.StatusActive}
		if err := st.CreateOperator(ctx, op); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
		f.operators[op.ID] = op.Name
	}
	var cs []customers.Customer
	for i := range 101 {
		cs = append(cs, storetest.NewCustomer(d, "Ada", fmt.Sprintf("Lovelace%d", i), fmt.Sprintf("ada%d@example.com", i), ""))
		f.emails[cs[i].ID] = cs[i].Email
	}
	if err := st.ImportCustomers(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	f.customer = base64.RawURLEncoding.EncodeToString([]byte("Customer:" + cs[0].ID))
	start := time.Now().UTC().Truncate(time.Millisecond).Add(-300 * time.Hour)
	for i := range 200 {
		c := cs[0]
		if i >= 100 {
			c = cs[i-99]
		}
		op, other := ops[i%len(ops)], ops[(i+1)%len(ops)]
		at := start.Add(time.Duration(i) * time.Hour)
		a := assist.Session{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, OperatorID: op.ID, Reason: "help",
			StartedAt: at, ExpiresAt: at.Add(30 * time.Minute), State: assist.StateActive, TicketHash: ids.New(), TicketExpiresAt: at.Add(time.Minute)}
		actor := audit.Actor{Type: audit.ActorOperator, ID: op.ID, ActingFor: c.ID, AssistID: a.ID, DomainID: d.ID}
		rec := actor.Record(audit.ActionAssistStarted, "customer", c.ID, "help")
		rec.ID, rec.At = ids.New(), at
		if err := st.CreateAssist(ctx, a, rec, nil); err != nil {
			t.Fatal(err)
		}
		audit.Append(ctx, st, at.Add(time.Minute), actor.Record(audit.ActionDeviceUpdated, "device", ids.New(), ""))
		switch {
		case i%5 == 0:
			err = st.EndAssist(ctx, a.ID, assist.StateExpired, assist.SystemActor, at.Add(30*time.Minute), audit.Record{}, nil)
		case i%3 == 0:
			err = st.EndAssist(ctx, a.ID, assist.StateEnded, other.ID, at.Add(10*time.Minute), audit.Record{}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	f.token = tokens.New()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.CreateSession(ctx, sessions.Session{TokenHash: tokens.Hash(f.token), Kind: sessions.KindOperator, DomainID: d.ID, SubjectID: ops[0].ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
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
		AssistService:   assist.NewService(st, clock, 30*time.Minute),
		AuditService:    audit.NewService(st, clock),
	}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r}))
	srv.AddTransport(transport.POST{})
	srv.AroundOperations(resolvers.AroundOperations)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		srv.ServeHTTP(w, req.WithContext(resolvers.WithToken(req.Context(), f.token)))
	}))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	st.take()
	return f
}

// query posts q and decodes its data into out, failing on any error.
func (f *assistFixture) query(t *testing.T, q string, out any) {
	t.Helper()
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal([]byte(post(t, f.url, q)), &resp); err != nil || len(resp.Errors) > 0 {
		t.Fatalf("%s: %v %v", q, err, resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatal(err)
	}
}

type assistNode struct {
	ID       string  `json:"id"`
	State    string  `json:"state"`
	EndedBy  *string `json:"endedBy"`
	Operator struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"operator"`
	Customer *struct {
		Email string `json:"email"`
	} `json:"customer"`
}

// check reports whether node names the operator and customer of the seeded
// session and who ended it.
func (f *assistFixture) check(t *testing.T, n assistNode) {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(n.Operator.ID)
	opID := strings.TrimPrefix(string(raw), "Operator:")
	if f.operators[opID] != n.Operator.Name || n.Operator.Name == "" {
		t.Fatalf("session %s: operator %q named %q", n.ID, opID, n.Operator.Name)
	}
	switch {
	case n.State == "ACTIVE" || n.State == "EXPIRED" && n.EndedBy == nil:
		if n.EndedBy != nil {
			t.Fatalf("session %s (%s) ended by %q", n.ID, n.State, *n.EndedBy)
		}
	case n.EndedBy == nil:
		t.Fatalf("session %s (%s) ended by nobody", n.ID, n.State)
	case n.State == "EXPIRED" && *n.EndedBy != assist.SystemActor,
		n.State == "ENDED" && (*n.EndedBy == n.Operator.Name || !strings.HasPrefix(*n.EndedBy, "Operator ")):
		t.Fatalf("session %s (%s) of %s ended by %q", n.ID, n.State, n.Operator.Name, *n.EndedBy)
	}
}

// TestAssistPagesReadAConstantNumberOfTimes shows that a page of assist
// sessions, with the operator, customer and who ended each, and a
// customer's access history, with the changes of each assistance, read the
// store the same number of times for 10 items as for 100, with as many
// distinct customers as items and five operators: each loader reads all the
// ids of its field level in one store call. Only the sign-in's session and
// operator are read by id.
func TestAssistPagesReadAConstantNumberOfTimes(t *testing.T) {
	want := map[string]map[string]int{
		"assistSessions": {"SessionAndOperator": 1, "AssistSessions": 1, "OperatorsByIDs": 1, "CustomersByIDs": 1},
		"accessHistory": {"SessionAndOperator": 1, "CustomersByIDs": 1, "AssistSessions": 1, "OperatorsByIDs": 1,
			"AuditRecordsOfAssists": 1},
	}
	f := newAssistFixture(t)
	// The page's loads are queued by the list's resolver from what the
	// operation selects, fragments included.
	sessionsQuery := `{ assistSessions(first: %d) { edges { node { ...session } } } } ` +
		`fragment session on AssistSession { id state endedBy operator { id name } ... on AssistSession { customer { email } } }`
	historyQuery := `{ customer(id: %q) { accessHistory(first: %d) { assistSession { id state endedBy operator { id name } } changes { action targetType at } } } }`
	reads := map[string]map[int]map[string]int{}
	for _, n := range []int{10, 100} {
		var page struct {
			AssistSessions struct {
				Edges []struct {
					Node assistNode `json:"node"`
				} `json:"edges"`
			} `json:"assistSessions"`
		}
		f.query(t, fmt.Sprintf(sessionsQuery, n), &page)
		if reads["assistSessions"] == nil {
			reads["assistSessions"] = map[int]map[string]int{}
		}
		reads["assistSessions"][n] = f.st.take()
		if len(page.AssistSessions.Edges) != n {
			t.Fatalf("assistSessions(first: %d) gave %d", n, len(page.AssistSessions.Edges))
		}
		for _, e := range page.AssistSessions.Edges {
			f.check(t, e.Node)
			if e.Node.Customer == nil || e.Node.Customer.Email == "" {
				t.Fatalf("session %s without its customer", e.Node.ID)
			}
		}

		var history struct {
			Customer struct {
				AccessHistory []struct {
					AssistSession assistNode `json:"assistSession"`
					Changes       []struct {
						Action string `json:"action"`
					} `json:"changes"`
				} `json:"accessHistory"`
			} `json:"customer"`
		}
		f.query(t, fmt.Sprintf(historyQuery, f.customer, n), &history)
		if reads["accessHistory"] == nil {
			reads["accessHistory"] = map[int]map[string]int{}
		}
		reads["accessHistory"][n] = f.st.take()
		if len(history.Customer.AccessHistory) != n {
			t.Fatalf("accessHistory(first: %d) gave %d", n, len(history.Customer.AccessHistory))
		}
		for _, rec := range history.Customer.AccessHistory {
			f.check(t, rec.AssistSession)
			if len(rec.Changes) != 1 || rec.Changes[0].Action != audit.ActionDeviceUpdated {
				t.Fatalf("session %s: changes %+v", rec.AssistSession.ID, rec.Changes)
			}
		}
	}
	for _, field := range []string{"assistSessions", "accessHistory"} {
		for _, n := range []int{10, 100} {
			t.Logf("%s(first: %d): %v", field, n, reads[field][n])
		}
	}
	// What the operation does not select is not read.
	var bare struct {
		AssistSessions struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"assistSessions"`
	}
	f.query(t, `{ assistSessions(first: 100) { edges { node { id state } } } }`, &bare)
	if got, want := f.st.take(), map[string]int{"SessionAndOperator": 1, "AssistSessions": 1}; len(bare.AssistSessions.Edges) != 100 || !maps.Equal(got, want) {
		t.Errorf("assistSessions(first: 100) of ids and states: %d sessions, read %v, want %v", len(bare.AssistSessions.Edges), got, want)
	}
	// The loaders are per operation, so the second query reads afresh.
	for field, byN := range reads {
		for _, n := range []int{10, 100} {
			if !maps.Equal(byN[n], want[field]) {
				t.Errorf("%s(first: %d) read %v, want %v", field, n, byN[n], want[field])
			}
		}
	}
}
