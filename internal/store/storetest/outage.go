package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/tokens"
)

// Outage is a way to make a store's database unavailable for a while.
type Outage struct {
	// Begin makes the database unavailable, End available again.
	Begin, End func()
	// Reads says whether reads fail too, not only writes.
	Reads bool
}

// Op is one store call RunOutage makes, by the name of its method.
type Op struct {
	Name string
	Call func(ctx context.Context) error
}

// RunOutage checks that while o is in effect every write of s, every extra
// call and, with o.Reads, every read and Ping return an error wrapping
// apperr.ErrUnavailable, which the API shows as UNAVAILABLE; and that once
// o has ended and Ping succeeds (within 20 s) the same calls succeed.
func RunOutage(t *testing.T, s store.Store, o Outage, extra ...Op) {
	ctx := context.Background()
	d := NewDomain(t, s)
	c := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Kitchen", Model: "T-100", SerialNumber: "T100-OUTAGE-1",
		CreatedAt: now(), UpdatedAt: now()}
	a := assist.Session{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, OperatorID: "op", Reason: "help", StartedAt: now(),
		ExpiresAt: now().Add(30 * time.Minute), State: assist.StateActive, TicketHash: tokens.Hash(tokens.New()), TicketExpiresAt: now().Add(time.Minute), Mode: assist.ModeControl}
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertDevices(ctx, []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAssist(ctx, a, audit.Record{}, nil); err != nil {
		t.Fatal(err)
	}
	record := func(action string) audit.Record {
		return audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorOperator, ActorID: "op", Action: action,
			TargetType: "customer", TargetID: c.ID, Outcome: audit.OutcomeSuccess}
	}
	event := func(typ events.Type) events.Event {
		return events.Event{ID: ids.New(), DomainID: d.ID, Type: typ, CustomerID: c.ID, ActorID: "op", Data: map[string]string{}, OccurredAt: now()}
	}
	disabled, hash := customers.StatusDisabled, "$argon2id$new"
	// Each call stores what it did not store during the outage, once the
	// outage is over: so the same call must succeed then.
	writes := []Op{
		{"CreateDomain", func(ctx context.Context) error {
			id := ids.New()
			return s.CreateDomain(ctx, domains.Domain{ID: id, Slug: "d-" + id[20:], Name: "D", DefaultRegion: "US", CreatedAt: now()})
		}},
		{"CreateOperator", func(ctx context.Context) error {
			id := ids.New()
			return s.CreateOperator(ctx, operators.Operator{ID: id, DomainID: d.ID, Name: "Op", Email: id + "@a.test", Role: operators.RoleSupport,
				Status: operators.StatusActive, PasswordHash: "$argon2id$x", CreatedAt: now(), UpdatedAt: now()})
		}},
		{"ImportCustomers", func(ctx context.Context) error {
			id := ids.New()
			return s.ImportCustomers(ctx, []customers.Customer{NewCustomer(d, "Bo", "Other", id+"@example.com", "")}, nil)
		}},
		{"UpdateCustomer (setAccountStatus, resetPassword)", func(ctx context.Context) error {
			_, err := s.UpdateCustomer(ctx, customers.Update{ID: c.ID, Version: c.Version, Status: &disabled, PasswordHash: &hash, EndSessions: true,
				At: now(), Audit: record(audit.ActionUserDisabled), Events: []events.Event{event(events.StatusChanged)}})
			return err
		}},
		{"InsertDevices", func(ctx context.Context) error {
			other := dev
			other.ID = ids.New()
			other.SerialNumber = "T100-" + strings.ToUpper(other.ID)
			return s.InsertDevices(ctx, []devices.Device{other})
		}},
		{"UpdateDevice", func(ctx context.Context) error {
			changed := dev
			changed.Name = "Cuisine"
			return s.UpdateDevice(ctx, changed, record(audit.ActionDeviceUpdated))
		}},
		{"CreateSession", func(ctx context.Context) error {
			return s.CreateSession(ctx, sessions.Session{TokenHash: tokens.Hash(tokens.New()), Kind: sessions.KindCustomer, DomainID: d.ID,
				SubjectID: c.ID, CreatedAt: now(), ExpiresAt: now().Add(time.Hour)})
		}},
		{"RevokeSession", func(ctx context.Context) error {
			return s.RevokeSession(ctx, tokens.Hash(tokens.New()), sessions.RevokedLogout, now())
		}},
		{"DeleteExpiredSessions", func(ctx context.Context) error {
			_, err := s.DeleteExpiredSessions(ctx, now())
			return err
		}},
		{"AppendAudit", func(ctx context.Context) error { return s.AppendAudit(ctx, record(audit.ActionLoginFail)) }},
		{"AppendEvent", func(ctx context.Context) error { return s.AppendEvent(ctx, event(events.PasswordReset)) }},
		{"SaveTailPosition", func(ctx context.Context) error { return s.SaveTailPosition(ctx, "instance", "1") }},
		{"CreateAssist (startAssist)", func(ctx context.Context) error {
			other := a
			other.ID, other.TicketHash = ids.New(), tokens.Hash(tokens.New())
			return s.CreateAssist(ctx, other, record(audit.ActionAssistStarted), []events.Event{event(events.AssistStarted)})
		}},
		{"UseTicket", func(ctx context.Context) error { return s.UseTicket(ctx, a.ID) }},
		{"CustomerKey", func(ctx context.Context) error { return second(s.CustomerKey(ctx, c.ID)) }},
		{"DeleteCustomerKey", func(ctx context.Context) error { return s.DeleteCustomerKey(ctx, ids.New()) }},
		{"EndAssist (endAssist)", func(ctx context.Context) error {
			return s.EndAssist(ctx, a.ID, assist.StateEnded, "op", now(), record(audit.ActionAssistEnded), []events.Event{event(events.AssistEnded)})
		}},
	}
	reads := []Op{
		{"DomainBySlug", func(ctx context.Context) error { return second(s.DomainBySlug(ctx, d.Slug)) }},
		{"DomainByID", func(ctx context.Context) error { return second(s.DomainByID(ctx, d.ID)) }},
		{"OperatorByEmail", func(ctx context.Context) error {
			return ignoreNotFound(second(s.OperatorByEmail(ctx, d.ID, "nobody@a.test")))
		}},
		{"OperatorByID", func(ctx context.Context) error { return ignoreNotFound(second(s.OperatorByID(ctx, ids.New()))) }},
		{"OperatorsByIDs", func(ctx context.Context) error { return second(s.OperatorsByIDs(ctx, []string{ids.New()})) }},
		{"CustomerByID", func(ctx context.Context) error { return second(s.CustomerByID(ctx, c.ID)) }},
		{"CustomersByIDs", func(ctx context.Context) error { return second(s.CustomersByIDs(ctx, []string{c.ID})) }},
		{"CustomerByEmail", func(ctx context.Context) error { return second(s.CustomerByEmail(ctx, d.ID, c.Email)) }},
		{"CountCustomers", func(ctx context.Context) error { return second(s.CountCustomers(ctx, d.ID)) }},
		{"SearchCustomers", func(ctx context.Context) error {
			return second(s.SearchCustomers(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{"ada"}, Limit: 10}))
		}},
		{"CountCustomerMatches", func(ctx context.Context) error {
			return second(s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{"ada"}}))
		}},
		{"DevicesByCustomer", func(ctx context.Context) error { return second(s.DevicesByCustomer(ctx, c.ID)) }},
		{"DeviceByID", func(ctx context.Context) error { return second(s.DeviceByID(ctx, dev.ID)) }},
		{"SessionByHash", func(ctx context.Context) error { return ignoreNotFound(second(s.SessionByHash(ctx, "nope"))) }},
		{"SessionAndOperator", func(ctx context.Context) error {
			_, _, err := s.SessionAndOperator(ctx, "nope")
			return ignoreNotFound(err)
		}},
		{"FindAudit", func(ctx context.Context) error {
			return second(s.FindAudit(ctx, audit.Query{DomainID: d.ID, CustomerID: c.ID, Limit: 10}))
		}},
		{"AuditRecordsOfAssists", func(ctx context.Context) error {
			return second(s.AuditRecordsOfAssists(ctx, []string{a.ID}))
		}},
		{"RecentEvents", func(ctx context.Context) error { return second(RecentEvents(ctx, s, d.ID, 10)) }},
		{"CustomerKeys", func(ctx context.Context) error { return second(s.CustomerKeys(ctx, []string{c.ID})) }},
		{"TailPosition", func(ctx context.Context) error { return second(s.TailPosition(ctx, "nobody")) }},
		{"AssistByID", func(ctx context.Context) error { return second(s.AssistByID(ctx, a.ID)) }},
		{"AssistsByIDs", func(ctx context.Context) error { return second(s.AssistsByIDs(ctx, []string{a.ID})) }},
		{"AssistByTicket", func(ctx context.Context) error { return second(s.AssistByTicket(ctx, a.TicketHash)) }},
		{"AssistSessions", func(ctx context.Context) error {
			return second(s.AssistSessions(ctx, assist.Query{DomainID: d.ID, Limit: 10}))
		}},
		{"ActiveAssists", func(ctx context.Context) error {
			return second(s.ActiveAssists(ctx, assist.ActiveFilter{CustomerID: c.ID}))
		}},
		{"Ping", s.Ping},
	}
	ops := slices.Concat(writes, extra)
	if o.Reads {
		ops = append(ops, reads...)
	}

	o.Begin()
	ended := false
	defer func() {
		if !ended {
			o.End()
		}
	}()
	// Concurrently: a store may wait a while before it gives up on each.
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Go(func() { errs[i] = op.Call(ctx) })
	}
	wg.Wait()
	for i, op := range ops {
		if !errors.Is(errs[i], apperr.ErrUnavailable) {
			t.Errorf("%s during the outage: %v, want an error wrapping apperr.ErrUnavailable", op.Name, errs[i])
		}
	}

	o.End()
	ended = true
	deadline := time.Now().Add(20 * time.Second)
	for err := s.Ping(ctx); err != nil; err = s.Ping(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("Ping 20 s after the outage: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, op := range ops {
		if err := op.Call(ctx); err != nil {
			t.Errorf("%s after the outage: %v", op.Name, err)
		}
	}
	if got, err := s.CustomerByID(ctx, c.ID); err != nil || got.Status != customers.StatusDisabled || got.Version != c.Version+1 {
		t.Errorf("the customer after the outage: %+v, %v; want changed once", got, err)
	}
}

func second[T any](_ T, err error) error { return err }

func ignoreNotFound(err error) error {
	if errors.Is(err, apperr.ErrNotFound) {
		return nil
	}
	return err
}
