package assist_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/names"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
	"github.com/iotconsole/bff/internal/tokens"
)

// The names in this file start with svc: reactions_test.go shares the package.

// svcClock is the service's time: it stands still until the test moves it,
// so expiry is tested at its exact instant and nothing sleeps. Its times
// have millisecond precision, what the store keeps.
type svcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *svcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *svcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *svcClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

const svcTTL = 30 * time.Minute

// svcFixture is an assist service on a real SQLite store: a domain with
// two operators, an active and a disabled customer, and another domain
// with a customer of its own.
type svcFixture struct {
	st  *sqlite.Store
	clk *svcClock
	svc *assist.Service

	domain, other         string
	ada, bob, gil, stella customers.Customer // gil is disabled, stella of the other domain
	ann, ben              audit.Actor        // operators of the domain
	stranger              audit.Actor        // an operator of the other domain
}

func newSvcFixture(t *testing.T) *svcFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	d, o := storetest.NewDomain(t, st), storetest.NewDomain(t, st)
	f := &svcFixture{st: st, clk: &svcClock{t: time.Date(2031, 3, 14, 9, 26, 53, 589e6, time.UTC)}, domain: d.ID, other: o.ID,
		ada:      storetest.NewCustomer(d, "Ada", "Lovelace", "ada@example.com", ""),
		bob:      storetest.NewCustomer(d, "Bob", "Builder", "bob@example.com", ""),
		gil:      storetest.NewCustomer(d, "Gil", "Gone", "gil@example.com", ""),
		stella:   storetest.NewCustomer(o, "Stella", "Stranger", "stella@example.com", ""),
		ann:      audit.Actor{Type: audit.ActorOperator, ID: storetest.NewOperator(t, st, d, "ann@ops.example").ID, DomainID: d.ID},
		ben:      audit.Actor{Type: audit.ActorOperator, ID: storetest.NewOperator(t, st, d, "ben@ops.example").ID, DomainID: d.ID},
		stranger: audit.Actor{Type: audit.ActorOperator, ID: storetest.NewOperator(t, st, o, "stan@ops.example").ID, DomainID: o.ID},
	}
	f.gil.Status = customers.StatusDisabled
	if err := st.ImportCustomers(ctx, []customers.Customer{f.ada, f.bob, f.gil, f.stella}, nil); err != nil {
		t.Fatal(err)
	}
	// The operators are signed in for the whole test: an assistance ends
	// when its operator's sign-ins of its start have all expired.
	for _, op := range []audit.Actor{f.ann, f.ben, f.stranger} {
		signIn := sessions.Session{TokenHash: ids.New(), Kind: sessions.KindOperator, DomainID: op.DomainID, SubjectID: op.ID,
			CreatedAt: f.clk.Now(), ExpiresAt: f.clk.Now().AddDate(1, 0, 0)}
		if err := st.CreateSession(ctx, signIn); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = assist.NewService(st, f.clk.Now, svcTTL)
	return f
}

func (f *svcFixture) startAssist(t *testing.T, by audit.Actor, c customers.Customer) (assist.Session, string) {
	t.Helper()
	a, ticket, err := f.svc.Start(context.Background(), by, c.ID, "thermostat offline")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return a, ticket
}

func (f *svcFixture) stored(t *testing.T, id string) assist.Session {
	t.Helper()
	a, err := f.svc.Get(context.Background(), f.domain, id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return a
}

func (f *svcFixture) changes(t *testing.T, id string) []audit.Record {
	t.Helper()
	recs, err := f.st.AuditRecordsOfAssists(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return recs[id]
}

func (f *svcFixture) list(t *testing.T, q assist.Query) []assist.Session {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 50
	}
	got, err := f.svc.List(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func svcIDs(ss []assist.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func TestServiceStart(t *testing.T) {
	f := newSvcFixture(t)
	ctx := audit.WithRequestID(context.Background(), "req-1")
	at := f.clk.Now()
	a, ticket, err := f.svc.Start(ctx, f.ann, f.ada.ID, "  thermostat offline\r\nsince Monday ")
	if err != nil {
		t.Fatal(err)
	}
	want := assist.Session{ID: a.ID, DomainID: f.domain, CustomerID: f.ada.ID, OperatorID: f.ann.ID, Reason: "thermostat offline\nsince Monday",
		StartedAt: at, ExpiresAt: at.Add(svcTTL), State: assist.StateActive, Mode: assist.ModeControl,
		TicketHash: tokens.Hash(ticket), TicketExpiresAt: at.Add(assist.TicketTTL)}
	if a != want || a.ID == "" || ticket == "" {
		t.Fatalf("Start = %+v\nwant    %+v", a, want)
	}
	if got := f.stored(t, a.ID); got != want {
		t.Fatalf("stored %+v\nwant   %+v", got, want)
	}
	if byTicket, err := f.st.AssistByTicket(ctx, tokens.Hash(ticket)); err != nil || byTicket.ID != a.ID {
		t.Fatalf("the ticket does not find its assistance: %+v, %v", byTicket, err)
	}

	recs := f.changes(t, a.ID)
	if len(recs) != 1 {
		t.Fatalf("records of the start: %+v", recs)
	}
	r := recs[0]
	if r.Action != audit.ActionAssistStarted || r.ActorID != f.ann.ID || r.ActorType != audit.ActorOperator || r.AssistID != a.ID ||
		r.TargetType != "customer" || r.TargetID != f.ada.ID || r.Reason != want.Reason || r.RequestID != "req-1" ||
		!r.At.Equal(at) || r.DomainID != f.domain || r.Outcome != audit.OutcomeSuccess {
		t.Fatalf("record of the start: %+v", r)
	}
	evs, err := f.st.RecentEvents(ctx, f.domain, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != events.AssistStarted || evs[0].CustomerID != f.ada.ID || evs[0].ActorID != f.ann.ID ||
		evs[0].Data["assistId"] != a.ID || evs[0].Data["operatorId"] != f.ann.ID || evs[0].Data["reason"] != want.Reason ||
		evs[0].Data["expiresAt"] != want.ExpiresAt.Format(time.RFC3339) || !evs[0].OccurredAt.Equal(at) {
		t.Fatalf("events of the start: %+v", evs)
	}
}

func TestServiceStartRefusals(t *testing.T) {
	tests := []struct {
		name     string
		customer func(f *svcFixture) string
		reason   string
		want     error // or, when nil, a *apperr.ValidationError:
		field    string
		code     string
	}{
		{"no reason", svcAda, "", nil, "reason", "REQUIRED"},
		{"a blank reason", svcAda, " \n\t ", nil, "reason", "REQUIRED"},
		{"a reason with a bidi override", svcAda, "help \u202eplease", nil, "reason", names.CodeInvalidCharacters},
		{"a reason with a control character", svcAda, "help\x00", nil, "reason", names.CodeInvalidCharacters},
		{"a reason too long", svcAda, strings.Repeat("x", names.MaxReasonLength+1), nil, "reason", names.CodeTooLong},
		{"a disabled customer", func(f *svcFixture) string { return f.gil.ID }, "help", nil, "customerId", "ACCOUNT_DISABLED"},
		{"another domain's customer", func(f *svcFixture) string { return f.stella.ID }, "help", apperr.ErrOtherDomain, "", ""},
		{"no such customer", func(f *svcFixture) string { return ids.New() }, "help", apperr.ErrNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSvcFixture(t)
			a, ticket, err := f.svc.Start(context.Background(), f.ann, tt.customer(f), tt.reason)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || !errors.Is(err, apperr.ErrNotFound) {
					t.Fatalf("Start: %v, want %v (answered as not found)", err, tt.want)
				}
			} else {
				var ve *apperr.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field || ve.Code != tt.code {
					t.Fatalf("Start: %v, want %s on %s", err, tt.code, tt.field)
				}
			}
			if a != (assist.Session{}) || ticket != "" {
				t.Fatalf("a refused start returned %+v and a ticket", a)
			}
			for _, d := range []string{f.domain, f.other} {
				if got := f.list(t, assist.Query{DomainID: d}); len(got) != 0 {
					t.Fatalf("a refused start was stored: %+v", got)
				}
			}
		})
	}
}

func svcAda(f *svcFixture) string { return f.ada.ID }

func TestServiceStartRateLimit(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	for range assist.StartBurst {
		f.startAssist(t, f.ann, f.ada)
	}
	refused := func(when string) {
		t.Helper()
		if _, _, err := f.svc.Start(ctx, f.ann, f.ada.ID, "one more"); !errors.Is(err, apperr.ErrRateLimited) {
			t.Fatalf("%s: %v, want ErrRateLimited", when, err)
		}
	}
	refused("past the burst")
	f.startAssist(t, f.ben, f.ada) // another operator has a bucket of its own
	f.clk.Advance(assist.StartInterval - time.Millisecond)
	refused("just before the interval")
	f.clk.Advance(time.Millisecond)
	f.startAssist(t, f.ann, f.ada)
	refused("right after the one start the interval allowed")
	if n := len(f.list(t, assist.Query{DomainID: f.domain})); n != assist.StartBurst+2 {
		t.Fatalf("%d assistances stored, want %d", n, assist.StartBurst+2)
	}
}

func TestServiceExpiryAndSweep(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	first, _ := f.startAssist(t, f.ann, f.ada)
	f.clk.Advance(10 * time.Minute)
	second, _ := f.startAssist(t, f.ben, f.ada)

	f.clk.Set(first.ExpiresAt.Add(-time.Millisecond))
	if s := f.svc.Current(first); s != assist.StateActive {
		t.Fatalf("just before its end: %s, want ACTIVE", s)
	}
	if err := f.svc.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(t, first.ID); got.State != assist.StateActive {
		t.Fatalf("swept before its end: %+v", got)
	}

	f.clk.Set(first.ExpiresAt)
	if s := f.svc.Current(first); s != assist.StateExpired {
		t.Fatalf("at its end: %s, want EXPIRED", s)
	}
	if s := f.svc.Current(second); s != assist.StateActive {
		t.Fatalf("the later one at the first's end: %s, want ACTIVE", s)
	}
	sweptAt := first.ExpiresAt.Add(7 * time.Minute) // the sweep comes late: it ended at its expiry all the same
	f.clk.Set(sweptAt)
	if err := f.svc.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.stored(t, first.ID)
	if got.State != assist.StateExpired || got.EndedBy != assist.SystemActor || !got.EndedAt.Equal(first.ExpiresAt) {
		t.Fatalf("after the sweep: %+v", got)
	}
	if got := f.stored(t, second.ID); got.State != assist.StateActive || !got.EndedAt.IsZero() {
		t.Fatalf("the sweep ended a running assistance: %+v", got)
	}
	recs := f.changes(t, first.ID)
	if len(recs) != 2 || recs[0].Action != audit.ActionAssistStarted {
		t.Fatalf("records of the assistance: %+v", recs)
	}
	if r := recs[1]; r.Action != audit.ActionAssistEnded || r.ActorType != audit.ActorSystem || r.ActorID != assist.SystemActor ||
		r.DomainID != f.domain || r.Reason != "expired" || r.AssistID != first.ID || !r.At.Equal(sweptAt) {
		t.Fatalf("record of the expiry: %+v", r)
	}
	evs, err := f.st.RecentEvents(ctx, f.domain, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Type != events.AssistEnded || e.Data["state"] != string(assist.StateExpired) || e.Data["assistId"] != first.ID ||
		e.ActorID != assist.SystemActor {
		t.Fatalf("event of the expiry: %+v", e)
	}

	// A second sweep finds nothing more to record.
	if err := f.svc.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.changes(t, first.ID)); n != 2 {
		t.Fatalf("a second sweep recorded the expiry again: %d records", n)
	}
}

func TestServiceEnd(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	a, _ := f.startAssist(t, f.ann, f.ada)
	f.clk.Advance(5 * time.Minute)
	endedAt := f.clk.Now()
	got, err := f.svc.End(ctx, f.ann, a, assist.StateEnded, "done")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != assist.StateEnded || got.EndedBy != f.ann.ID || !got.EndedAt.Equal(endedAt) || f.svc.Current(got) != assist.StateEnded {
		t.Fatalf("End = %+v", got)
	}
	// Ending it again is no error and changes nothing.
	f.clk.Advance(time.Minute)
	again, err := f.svc.End(ctx, f.ben, a, assist.StateRevoked, "again")
	if err != nil || again != got {
		t.Fatalf("End again = %+v, %v; want %+v unchanged", again, err, got)
	}
	recs := f.changes(t, a.ID)
	if len(recs) != 2 || recs[1].Action != audit.ActionAssistEnded || recs[1].ActorID != f.ann.ID || recs[1].Reason != "done" {
		t.Fatalf("records of the assistance: %+v", recs)
	}
}

func TestServiceEndAfterExpiryRecordsTheExpiry(t *testing.T) {
	f := newSvcFixture(t)
	a, _ := f.startAssist(t, f.ann, f.ada)
	f.clk.Advance(svcTTL) // expired; the sweeper has not run
	got, err := f.svc.End(context.Background(), f.ann, a, assist.StateEnded, "done")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != assist.StateExpired || got.EndedBy != assist.SystemActor {
		t.Fatalf("ended after its expiry: %+v, want EXPIRED by the system", got)
	}
	recs := f.changes(t, a.ID)
	if last := recs[len(recs)-1]; last.Action != audit.ActionAssistEnded || last.ActorType != audit.ActorSystem || last.Reason != "expired" {
		t.Fatalf("its last record: %+v", last)
	}
}

func TestServiceEndAll(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	annAda, _ := f.startAssist(t, f.ann, f.ada)
	benAda, _ := f.startAssist(t, f.ben, f.ada)
	annBob, _ := f.startAssist(t, f.ann, f.bob)
	f.clk.Advance(time.Minute)

	// The system revokes every assistance of Ada; its records take each one's domain.
	if err := f.svc.EndAll(ctx, audit.Actor{Type: audit.ActorSystem, ID: assist.SystemActor}, assist.ActiveFilter{CustomerID: f.ada.ID},
		assist.StateRevoked, "account disabled"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []assist.Session{annAda, benAda} {
		got := f.stored(t, a.ID)
		if got.State != assist.StateRevoked || got.EndedBy != assist.SystemActor {
			t.Fatalf("Ada's assistance after EndAll: %+v", got)
		}
		if recs := f.changes(t, a.ID); len(recs) != 2 || recs[1].DomainID != f.domain || recs[1].Reason != "account disabled" {
			t.Fatalf("records of %s: %+v", a.ID, recs)
		}
	}
	if got := f.stored(t, annBob.ID); got.State != assist.StateActive {
		t.Fatalf("Bob's assistance ended with Ada's: %+v", got)
	}
	// Ending all of an operator's ends what is left of them.
	if err := f.svc.EndAll(ctx, f.ann, assist.ActiveFilter{OperatorID: f.ann.ID}, assist.StateEnded, "signed out"); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(t, annBob.ID); got.State != assist.StateEnded || got.EndedBy != f.ann.ID {
		t.Fatalf("Bob's assistance after its operator's EndAll: %+v", got)
	}
	if got := f.stored(t, annAda.ID); got.State != assist.StateRevoked {
		t.Fatalf("EndAll changed an ended assistance: %+v", got)
	}
}

func TestServiceGet(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	a, _ := f.startAssist(t, f.ann, f.ada)
	for _, tt := range []struct {
		name         string
		domain, id   string
		want, wantIs error
	}{
		{"the domain's", f.domain, a.ID, nil, nil},
		{"from another domain", f.other, a.ID, apperr.ErrNotFound, apperr.ErrOtherDomain},
		{"no such assistance", f.domain, ids.New(), apperr.ErrNotFound, apperr.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.Get(ctx, tt.domain, tt.id)
			if tt.want == nil {
				if err != nil || got != a {
					t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, tt.wantIs) || got != (assist.Session{}) {
				t.Fatalf("Get = %+v, %v; want %v", got, err, tt.wantIs)
			}
		})
	}
}

func TestServiceListAndChanges(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	var started []assist.Session // oldest first
	for _, by := range []audit.Actor{f.ann, f.ben, f.ann} {
		a, _ := f.startAssist(t, by, f.ada)
		started = append(started, a)
		f.clk.Advance(time.Minute)
	}
	f.startAssist(t, f.stranger, f.stella)
	if _, err := f.svc.End(ctx, f.ann, started[0], assist.StateEnded, "done"); err != nil {
		t.Fatal(err)
	}

	newestFirst := []string{started[2].ID, started[1].ID, started[0].ID}
	for _, tt := range []struct {
		name string
		q    assist.Query
		want []string
	}{
		{"all of the domain", assist.Query{DomainID: f.domain}, newestFirst},
		{"of a customer", assist.Query{DomainID: f.domain, CustomerID: f.ada.ID}, newestFirst},
		{"of a customer of another domain", assist.Query{DomainID: f.domain, CustomerID: f.stella.ID}, []string{}},
		{"ended", assist.Query{DomainID: f.domain, State: assist.StateEnded}, []string{started[0].ID}},
		{"active", assist.Query{DomainID: f.domain, State: assist.StateActive}, newestFirst[:2]},
		{"first page", assist.Query{DomainID: f.domain, Limit: 2}, newestFirst[:2]},
		{"next page", assist.Query{DomainID: f.domain, Limit: 2, Before: &assist.Cursor{StartedAt: started[1].StartedAt, ID: started[1].ID}},
			newestFirst[2:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := svcIDs(f.list(t, tt.q)); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
		})
	}

	// What was done during an assistance, in the order it was done.
	a := started[1]
	rename := audit.Actor{Type: audit.ActorOperator, ID: f.ben.ID, ActingFor: f.ada.ID, AssistID: a.ID, DomainID: f.domain}.
		Record(audit.ActionDeviceUpdated, "device", "dev-1", "")
	audit.Append(ctx, f.st, f.clk.Now(), rename)
	f.clk.Advance(time.Minute)
	if _, err := f.svc.End(ctx, f.ben, a, assist.StateEnded, "fixed"); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range f.changes(t, a.ID) {
		actions = append(actions, r.Action)
	}
	if want := []string{audit.ActionAssistStarted, audit.ActionDeviceUpdated, audit.ActionAssistEnded}; strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Fatalf("Changes = %v, want %v", actions, want)
	}
	if recs := f.changes(t, ids.New()); len(recs) != 0 {
		t.Fatalf("changes of no assistance: %+v", recs)
	}
}

// TestServiceGetManyAndChangesOf: the batch reads answer each id as Get
// and Changes do, and keep another domain's sessions and records out.
func TestServiceGetManyAndChangesOf(t *testing.T) {
	f := newSvcFixture(t)
	ctx := context.Background()
	mine, _ := f.startAssist(t, f.ann, f.ada)
	f.clk.Advance(time.Minute)
	if _, err := f.svc.End(ctx, f.ann, mine, assist.StateEnded, "done"); err != nil {
		t.Fatal(err)
	}
	quiet, _ := f.startAssist(t, f.ben, f.bob)
	theirs, _ := f.startAssist(t, f.stranger, f.stella)
	nobody := ids.New()
	asked := []string{mine.ID, theirs.ID, nobody, quiet.ID, mine.ID}

	batch, err := f.svc.GetMany(ctx, f.domain, asked)
	if err != nil {
		t.Fatal(err)
	}
	if batch.Len() != 2 {
		t.Errorf("GetMany found %d sessions of the domain, want 2", batch.Len())
	}
	for _, tt := range []struct {
		name   string
		id     string
		wantIs error // nil: found
	}{
		{"the domain's", mine.ID, nil},
		{"the domain's without changes", quiet.ID, nil},
		{"another domain's", theirs.ID, apperr.ErrOtherDomain},
		{"no such assistance", nobody, apperr.ErrNotFound},
	} {
		got, err := batch.Get(tt.id)
		one, _ := f.svc.Get(ctx, f.domain, tt.id)
		switch {
		case tt.wantIs == nil && (err != nil || got.ID != tt.id || got != one):
			t.Errorf("%s: %+v, %v; want what Get gives, %+v", tt.name, got, err, one)
		case tt.wantIs != nil && (!errors.Is(err, tt.wantIs) || !errors.Is(err, apperr.ErrNotFound) || got != (assist.Session{})):
			t.Errorf("%s: %+v, %v; want %v", tt.name, got, err, tt.wantIs)
		}
	}

	changes, err := f.svc.ChangesOf(ctx, f.domain, asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || len(changes[mine.ID]) != 2 || len(changes[quiet.ID]) != 1 {
		t.Fatalf("ChangesOf = %+v; want the start and end of %s and the start of %s", changes, mine.ID, quiet.ID)
	}
	if got, want := changes[mine.ID], f.changes(t, mine.ID); got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ChangesOf(%s) = %+v; Changes gives %+v", mine.ID, got, want)
	}
	if elsewhere, err := f.svc.ChangesOf(ctx, f.other, []string{mine.ID}); err != nil || len(elsewhere) != 0 {
		t.Errorf("ChangesOf in another domain = %+v, %v; want none", elsewhere, err)
	}
	if none, err := f.svc.ChangesOf(ctx, f.domain, nil); err != nil || len(none) != 0 {
		t.Errorf("ChangesOf of no sessions = %+v, %v", none, err)
	}
}
