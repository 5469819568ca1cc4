package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/tokens"
)

// idCase is one list of ids a batch read is asked for and the ids of the
// objects it must return, each once.
type idCase struct {
	name string
	ask  []string
	want []string
}

// idCases are the cases every batch read by id passes, for mine (two
// objects of one domain), theirs (one of another domain) and nobody (an id
// of nothing): found, missing, duplicates, empty input, the empty id,
// another domain's object returned as stored (keeping domains apart is the
// services' job), and more ids than one query takes.
func idCases(mine [2]string, theirs, nobody string) []idCase {
	many := make([]string, 0, 1202)
	for range 1200 {
		many = append(many, ids.New())
	}
	many = append(many, mine[1], mine[0])
	return []idCase{
		{"found", []string{mine[0], mine[1]}, []string{mine[0], mine[1]}},
		{"one", []string{mine[1]}, []string{mine[1]}},
		{"missing", []string{nobody, mine[0]}, []string{mine[0]}},
		{"only missing", []string{nobody}, nil},
		{"duplicates", []string{mine[0], mine[0], mine[1], mine[0]}, []string{mine[0], mine[1]}},
		{"nil", nil, nil},
		{"empty", []string{}, nil},
		{"the empty id", []string{""}, nil},
		{"another domain's, as stored", []string{theirs, mine[0]}, []string{mine[0], theirs}},
		{"more than one query takes", many, []string{mine[0], mine[1]}},
	}
}

// checkByIDs runs every idCase against read, which returns the objects
// found, and checks them against stored, what was stored, by id.
func checkByIDs[T any](t *testing.T, cases []idCase, stored map[string]T, id func(T) string, read func(ctx context.Context, ids []string) ([]T, error)) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := read(context.Background(), tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
			want := make([]T, 0, len(tt.want))
			for _, i := range slices.Sorted(slices.Values(tt.want)) {
				want = append(want, stored[i])
			}
			if len(got) == 0 && len(want) == 0 {
				return
			}
			wantEqual(t, got, want)
		})
	}
}

func testCustomersByIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	cs := []customers.Customer{
		NewCustomer(a, "Ada", "Lovelace", "ada@example.com", "+1 555 010 0199"),
		NewCustomer(a, "Bob", "Builder", "bob@example.com", ""),
		NewCustomer(b, "Ada", "Lovelace", "ada@example.com", ""),
	}
	if err := s.ImportCustomers(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	stored := map[string]customers.Customer{}
	for _, c := range cs {
		stored[c.ID] = c
	}
	checkByIDs(t, idCases([2]string{cs[0].ID, cs[1].ID}, cs[2].ID, ids.New()), stored,
		func(c customers.Customer) string { return c.ID }, s.CustomersByIDs)
}

func testOperatorsByIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	stored := map[string]operators.Operator{}
	var opIDs []string
	for i, d := range []string{a.ID, a.ID, b.ID} {
		op := operators.Operator{ID: ids.New(), DomainID: d, Name: fmt.Sprintf("Operator %d", i), Email: fmt.Sprintf("op%d@a.test", i),
			Role: operators.RoleSupport, Status: operators.StatusActive, PasswordHash: "$argon2id$x", CreatedAt: now(), UpdatedAt: now()}
		if err := s.CreateOperator(ctx, op); err != nil {
			t.Fatal(err)
		}
		stored[op.ID] = op
		opIDs = append(opIDs, op.ID)
	}
	checkByIDs(t, idCases([2]string{opIDs[0], opIDs[1]}, opIDs[2], ids.New()), stored,
		func(o operators.Operator) string { return o.ID }, s.OperatorsByIDs)
}

// assistsByIDsFixture stores two assist sessions of one domain, one of
// another and their records: the first of the domain has four, two at the
// same instant and one appended out of order, the second none, the other
// domain's one; a record of no assistance stands beside them.
func assistsByIDsFixture(t *testing.T, s store.Store) (sessions map[string]assist.Session, records map[string][]audit.Record, mine [2]string, theirs string) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	base := now()
	sessions, records = map[string]assist.Session{}, map[string][]audit.Record{}
	var made []string
	for i, d := range []string{a.ID, a.ID, b.ID} {
		sess := assist.Session{ID: ids.New(), DomainID: d, CustomerID: fmt.Sprint("cust-", i), OperatorID: fmt.Sprint("op-", i), Reason: "help",
			StartedAt: base.Add(time.Duration(i) * time.Minute), ExpiresAt: base.Add(time.Hour), State: assist.StateActive,
			TicketHash: tokens.Hash(tokens.New()), TicketExpiresAt: base.Add(time.Minute), Mode: assist.ModeControl}
		if err := s.CreateAssist(ctx, sess, audit.Record{}, nil); err != nil {
			t.Fatal(err)
		}
		sessions[sess.ID] = sess
		made = append(made, sess.ID)
	}
	rec := func(assistID, domainID string, at time.Time, action string) audit.Record {
		return audit.Record{ID: ids.New(), DomainID: domainID, At: at, ActorType: audit.ActorOperator, ActorID: "op", Action: action,
			TargetType: audit.TargetDevice, TargetID: "dev", Outcome: audit.OutcomeSuccess, AssistID: assistID}
	}
	first := []audit.Record{ // oldest first, (at, id)
		rec(made[0], a.ID, base, audit.ActionAssistStarted),
		rec(made[0], a.ID, base.Add(time.Second), audit.ActionDeviceUpdated),
		rec(made[0], a.ID, base.Add(time.Second), audit.ActionDeviceUpdated),
		rec(made[0], a.ID, base.Add(2*time.Second), audit.ActionAssistEnded),
	}
	slices.SortFunc(first[1:3], func(x, y audit.Record) int { return cmp.Compare(x.ID, y.ID) })
	other := rec(made[2], b.ID, base, audit.ActionAssistStarted)
	for _, r := range []audit.Record{first[3], first[0], other, first[2], first[1], rec("", a.ID, base, audit.ActionLogout)} {
		if err := s.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	records[made[0]], records[made[2]] = first, []audit.Record{other}
	return sessions, records, [2]string{made[0], made[1]}, made[2]
}

func testAssistsByIDs(t *testing.T, s store.Store) {
	sessions, _, mine, theirs := assistsByIDsFixture(t, s)
	checkByIDs(t, idCases(mine, theirs, ids.New()), sessions, func(a assist.Session) string { return a.ID }, s.AssistsByIDs)
}

func testAuditRecordsOfAssists(t *testing.T, s store.Store) {
	_, records, mine, theirs := assistsByIDsFixture(t, s)
	for _, tt := range idCases(mine, theirs, ids.New()) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.AuditRecordsOfAssists(context.Background(), tt.ask)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]audit.Record{}
			for _, id := range tt.want {
				if rs, ok := records[id]; ok { // a session without records is absent
					want[id] = rs
				}
			}
			if len(got) == 0 && len(want) == 0 {
				return
			}
			wantEqual(t, got, want)
		})
	}
	// Each session's records are what a batch of one returns.
	for id, want := range records {
		one, err := auditRecordsOfAssist(context.Background(), s, id)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, one, want)
	}
}
