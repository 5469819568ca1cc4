package assist_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// fixture is an assist service on a real SQLite store, with one domain,
// three of its customers and a second domain.
type fixture struct {
	store                *sqlite.Store
	svc                  *assist.Service
	domain, other        string
	first, second, third customers.Customer
	alice, bob           audit.Actor // operators of the domain
	stranger             audit.Actor // an operator of the other domain
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	d, o := storetest.NewDomain(t, st), storetest.NewDomain(t, st)
	first := storetest.NewCustomer(d, "Ada", "First", "ada@example.com", "")
	second := storetest.NewCustomer(d, "Bo", "Second", "bo@example.com", "")
	third := storetest.NewCustomer(d, "Cy", "Third", "cy@example.com", "")
	if err := st.ImportCustomers(ctx, []customers.Customer{first, second, third}, nil); err != nil {
		t.Fatal(err)
	}
	operator := func(d domains.Domain) audit.Actor {
		return audit.Actor{Type: audit.ActorOperator, ID: storetest.NewOperator(t, st, d, ids.New()+"@ops.example").ID, DomainID: d.ID}
	}
	now := func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	return &fixture{store: st, svc: assist.NewService(st, now, time.Hour), domain: d.ID, other: o.ID,
		first: first, second: second, third: third, alice: operator(d), bob: operator(d), stranger: operator(o)}
}

func (f *fixture) start(t *testing.T, by audit.Actor, c customers.Customer) assist.Session {
	t.Helper()
	a, _, err := f.svc.Start(context.Background(), by, c.ID, "help")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) state(t *testing.T, a assist.Session) assist.State {
	t.Helper()
	got, err := f.store.AssistByID(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.State
}

func TestRevokeOnAccountEnd(t *testing.T) {
	tests := []struct {
		name    string
		event   func(c customers.Customer) events.Event
		revoked bool
	}{
		{"disabled", func(c customers.Customer) events.Event {
			return events.Event{Type: events.StatusChanged, Data: map[string]string{events.KeyStatus: string(customers.StatusDisabled)}}
		}, true},
		{"enabled", func(c customers.Customer) events.Event {
			return events.Event{Type: events.StatusChanged, Data: map[string]string{events.KeyStatus: string(customers.StatusActive)}}
		}, false},
		{"erased", func(c customers.Customer) events.Event {
			return events.Event{Type: events.CustomerDeleted}
		}, true},
		{"a password reset by support", func(c customers.Customer) events.Event {
			return events.Event{Type: events.PasswordReset, Data: map[string]string{}}
		}, true},
		{"the customer's own new password", func(c customers.Customer) events.Event {
			return events.Event{Type: events.SessionRevoked, Data: map[string]string{events.KeyKeepSession: "the-new-session"}}
		}, true},
		{"one session signed out", func(c customers.Customer) events.Event {
			return events.Event{Type: events.SessionRevoked, Data: map[string]string{events.KeySession: "that-session"}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			broker := events.NewBroker()
			f.svc.RevokeOnAccountEnd(ctx, broker)
			mine, untouched, marker := f.start(t, f.alice, f.first), f.start(t, f.alice, f.second), f.start(t, f.alice, f.third)
			e := tt.event(f.first)
			e.ID, e.DomainID, e.CustomerID, e.OccurredAt = ids.New(), f.domain, f.first.ID, time.Now()
			broker.Publish(e)
			// Then a reset of the third customer: the reaction handles events
			// in order, so once it has revoked the third's assistance it has
			// dealt with e.
			broker.Publish(events.Event{ID: ids.New(), DomainID: f.domain, Type: events.PasswordReset, CustomerID: f.third.ID, Data: map[string]string{}})
			deadline := time.Now().Add(5 * time.Second)
			for f.state(t, marker) != assist.StateRevoked {
				if time.Now().After(deadline) {
					t.Fatal("the reaction never handled the marker event")
				}
				time.Sleep(5 * time.Millisecond)
			}
			want := assist.StateActive
			if tt.revoked {
				want = assist.StateRevoked
			}
			if got := f.state(t, mine); got != want {
				t.Fatalf("the customer's assistance is %s, want %s", got, want)
			}
			if got := f.state(t, untouched); got != assist.StateActive {
				t.Fatalf("another customer's assistance is %s", got)
			}
		})
	}
}

func TestEndForSignOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, second, bobs := f.start(t, f.alice, f.first), f.start(t, f.alice, f.second), f.start(t, f.bob, f.first)

	// Signing out of the assisted tab ends that assistance only.
	assisting := f.alice
	assisting.ActingFor = f.first.ID
	if err := f.svc.EndForSignOut(ctx, assisting); err != nil {
		t.Fatal(err)
	}
	if f.state(t, first) != assist.StateEnded || f.state(t, second) != assist.StateActive {
		t.Fatalf("after the assisted tab signed out: %s, %s", f.state(t, first), f.state(t, second))
	}
	// Signing out of the console ends all of the operator's.
	if err := f.svc.EndForSignOut(ctx, f.alice); err != nil {
		t.Fatal(err)
	}
	if f.state(t, second) != assist.StateEnded || f.state(t, bobs) != assist.StateActive {
		t.Fatalf("after the console signed out: %s, another operator's %s", f.state(t, second), f.state(t, bobs))
	}
	// A customer signing out ends nothing.
	customer := audit.Actor{Type: audit.ActorCustomer, ID: f.first.ID, DomainID: f.domain}
	if err := f.svc.EndForSignOut(ctx, customer); err != nil || f.state(t, bobs) != assist.StateActive {
		t.Fatalf("a customer's sign-out: %v, %s", err, f.state(t, bobs))
	}
}

func TestEndBy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		by           func(f *fixture) audit.Actor
		mayEndOthers bool
		err          error
	}{
		{"its own operator", func(f *fixture) audit.Actor { return f.alice }, false, nil},
		{"another operator", func(f *fixture) audit.Actor { return f.bob }, false, apperr.ErrForbidden},
		{"another operator with END_ANY_ASSIST", func(f *fixture) audit.Actor { return f.bob }, true, nil},
		{"another domain's operator, whatever its permissions", func(f *fixture) audit.Actor { return f.stranger }, true, apperr.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.start(t, f.alice, f.first)
			ended, err := f.svc.EndBy(ctx, tt.by(f), tt.mayEndOthers, a.ID)
			if !errors.Is(err, tt.err) {
				t.Fatalf("EndBy: %v, want %v", err, tt.err)
			}
			want := assist.StateActive
			if tt.err == nil {
				want = assist.StateEnded
				if ended.State != want || ended.EndedBy != tt.by(f).ID {
					t.Fatalf("ended %+v", ended)
				}
			}
			if got := f.state(t, a); got != want {
				t.Fatalf("stored state %s, want %s", got, want)
			}
		})
	}
}
