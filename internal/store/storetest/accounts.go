package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/tokens"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
)

func testUpdateCustomer(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	c := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.CustomerByEmail(ctx, d.ID, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, c)
	if _, err := s.CustomerByEmail(ctx, d.ID, "nobody@example.com"); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}

	hash, status, must := "$argon2id$new", customers.StatusDisabled, true
	rec := audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorOperator, ActorID: "op", Action: audit.ActionUserDisabled,
		TargetType: "customer", TargetID: c.ID, Reason: "fraud", Outcome: audit.OutcomeSuccess}
	ev := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.StatusChanged, CustomerID: c.ID, ActorID: "op",
		Data: map[string]string{"status": "DISABLED"}, OccurredAt: now()}
	updated, err := s.UpdateCustomer(ctx, customers.Update{ID: c.ID, Version: c.Version, PasswordHash: &hash, Status: &status,
		MustChangePassword: &must, EndSessions: true, At: now(), Audit: rec, Events: []events.Event{ev}})
	if err != nil {
		t.Fatal(err)
	}
	if updated.PasswordHash != hash || updated.Status != status || !updated.MustChangePassword ||
		updated.SessionEpoch != c.SessionEpoch+1 || updated.Version != c.Version+1 || updated.FirstName != c.FirstName {
		t.Fatalf("updated = %+v", updated)
	}
	reread, err := s.CustomerByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, reread, updated)
	records, err := AuditRecords(ctx, s, d.ID, 10)
	if err != nil || len(records) != 1 {
		t.Fatalf("audit after update: %v %v", records, err)
	}
	wantEqual(t, records[0], rec)
	evs, err := RecentEvents(ctx, s, d.ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after update: %v %v", evs, err)
	}
	wantEqual(t, evs[0], ev)

	// A change decided on an old version is refused and changes nothing.
	stale := customers.Status(customers.StatusActive)
	_, err = s.UpdateCustomer(ctx, customers.Update{ID: c.ID, Version: c.Version, Status: &stale, At: now(),
		Audit: audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), Action: audit.ActionUserEnabled}})
	if !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("stale version: %v, want a conflict", err)
	}
	if again, _ := s.CustomerByID(ctx, c.ID); again.Status != customers.StatusDisabled {
		t.Fatalf("a refused update changed the status")
	}
	if records, _ := AuditRecords(ctx, s, d.ID, 10); len(records) != 1 {
		t.Fatalf("a refused update wrote audit records: %d", len(records))
	}
	_, err = s.UpdateCustomer(ctx, customers.Update{ID: ids.New(), Version: 1, At: now()})
	if !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("unknown customer: %v", err)
	}
}

func testSessionScopeAndEpoch(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	sess := sessions.Session{TokenHash: tokens.Hash(tokens.New()), Kind: sessions.KindCustomer, DomainID: d.ID,
		SubjectID: ids.New(), CreatedAt: now(), ExpiresAt: now().Add(time.Hour), Epoch: 7, Scope: sessions.ScopePasswordChange}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByHash(ctx, sess.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, sess)
}

func testTailEvents(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDomain(t, s)
	before := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.StatusChanged, Data: map[string]string{}, OccurredAt: now().Add(-time.Hour)}
	if err := s.AppendEvent(ctx, before); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- s.TailEvents(ctx, "", func(e events.Event) {
			mu.Lock()
			got = append(got, e.ID)
			mu.Unlock()
		})
	}()
	time.Sleep(300 * time.Millisecond) // let the tail start
	var want []string
	for range 3 {
		e := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.PasswordReset, CustomerID: "c", Data: map[string]string{"k": "v"}, OccurredAt: now()}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	wantEqual(t, got, want)
}

// collect tails s from position after for a while and returns what arrived.
func collect(t *testing.T, s store.Store, after string, want int) []events.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan events.Event, 100)
	done := make(chan error, 1)
	go func() { done <- s.TailEvents(ctx, after, func(e events.Event) { got <- e }) }()
	var out []events.Event
	deadline := time.After(3 * time.Second)
	for len(out) < want {
		select {
		case e := <-got:
			out = append(out, e)
		case <-deadline:
			cancel()
			<-done
			return out
		}
	}
	cancel()
	<-done
	return out
}

func testTailResumes(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	appendEvent := func() events.Event {
		e := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.StatusChanged, CustomerID: "c", Data: map[string]string{}, OccurredAt: now()}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
		return e
	}
	// Read one event to learn its position, as a running instance would.
	ctx2, cancel := context.WithCancel(ctx)
	first := make(chan events.Event, 1)
	go func() { _ = s.TailEvents(ctx2, "", func(e events.Event) { first <- e }) }()
	time.Sleep(300 * time.Millisecond)
	seen := appendEvent()
	var position string
	select {
	case e := <-first:
		if e.ID != seen.ID || e.Position == "" {
			t.Fatalf("tail gave %+v, want %s with a position", e, seen.ID)
		}
		position = e.Position
	case <-time.After(3 * time.Second):
		t.Fatal("the tail delivered nothing")
	}
	cancel()

	if err := s.SaveTailPosition(ctx, "instance-a", position); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TailPosition(ctx, "instance-a"); err != nil || got != position {
		t.Fatalf("TailPosition = %q, %v; want %q", got, err, position)
	}
	if got, err := s.TailPosition(ctx, "instance-b"); err != nil || got != "" {
		t.Fatalf("TailPosition of an unknown instance = %q, %v", got, err)
	}

	// Events appended while "stopped" arrive after a restart from the saved position.
	missed := []string{appendEvent().ID, appendEvent().ID}
	var got []string
	for _, e := range collect(t, s, position, len(missed)) {
		got = append(got, e.ID)
	}
	wantEqual(t, got, missed)
}
