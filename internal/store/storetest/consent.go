package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/tokens"
)

// testAssistConsent checks what remote assistance with the customer's
// agreement stores: each domain's consent setting, PENDING sessions and
// their requests, the conditional updates that answer or expire them, and
// new tickets for approved ones.
func testAssistConsent(t *testing.T, s store.Store) {
	ctx := context.Background()

	// A new domain asks for control by default; the setting round-trips.
	d := NewDomainConsent(t, s, "")
	if got, err := s.DomainByID(ctx, d.ID); err != nil || got.AssistConsent != domains.AssistConsentControl {
		t.Fatalf("a new domain's consent: %+v %v", got, err)
	}
	all := NewDomainConsent(t, s, domains.AssistConsentAll)
	if got, _ := s.DomainBySlug(ctx, all.Slug); got.AssistConsent != domains.AssistConsentAll {
		t.Fatalf("consent ALL read back as %q", got.AssistConsent)
	}
	all.AssistConsent = domains.AssistConsentNone
	if err := s.UpdateDomain(ctx, all, audit.Record{ID: ids.New(), DomainID: all.ID, At: now(), Action: audit.ActionDomainUpdated, Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.DomainByID(ctx, all.ID); got.AssistConsent != domains.AssistConsentNone {
		t.Fatalf("consent after the update: %q", got.AssistConsent)
	}

	note := func(assistID, action string) audit.Record {
		return audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorOperator, ActorID: "op-c", Action: action,
			TargetType: audit.TargetCustomer, Outcome: audit.OutcomeSuccess, AssistID: assistID}
	}

	// A PENDING assistance with its request round-trips, and is running.
	base := now()
	pending := func(customer string, wait time.Duration, mode assist.Mode) assist.Session {
		return assist.Session{ID: ids.New(), DomainID: d.ID, CustomerID: customer, OperatorID: "op-c", Reason: "help",
			StartedAt: base, ExpiresAt: base.Add(wait), State: assist.StatePending, Mode: mode,
			TicketHash: tokens.Hash(tokens.New()), TicketExpiresAt: base,
			Request: assist.Request{Mode: mode, State: assist.RequestPending, At: base, ExpiresAt: base.Add(wait)}}
	}
	a, later := pending("cust-c1", 5*time.Minute, assist.ModeControl), pending("cust-c2", 7*time.Minute, assist.ModeView)
	for _, p := range []assist.Session{later, a} {
		if err := s.CreateAssist(ctx, p, audit.Record{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AssistByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, a)
	if running, _ := s.ActiveAssists(ctx, assist.ActiveFilter{CustomerID: "cust-c1"}); len(running) != 1 || running[0].ID != a.ID {
		t.Fatalf("a pending assistance is running: %+v", running)
	}

	// Pending requests by expiry, soonest first.
	pendingIDs := func(by time.Time) []string {
		t.Helper()
		list, err := s.PendingAssistRequests(ctx, by)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range list {
			if p.DomainID == d.ID {
				out = append(out, p.ID)
			}
		}
		return out
	}
	wantEqual(t, pendingIDs(base.Add(4*time.Minute)), []string(nil))
	wantEqual(t, pendingIDs(base.Add(5*time.Minute)), []string{a.ID})
	wantEqual(t, pendingIDs(time.Time{}), []string{a.ID, later.ID})

	// The answer is a conditional write with its record and events.
	approved := a
	approved.State, approved.ExpiresAt = assist.StateActive, base.Add(time.Hour)
	approved.Request.State, approved.Request.AnsweredAt = assist.RequestApproved, base.Add(time.Minute)
	rec := audit.Record{ID: ids.New(), DomainID: d.ID, At: base.Add(time.Minute), ActorType: audit.ActorCustomer, ActorID: "cust-c1",
		Action: audit.ActionAssistApproved, TargetType: audit.TargetCustomer, TargetID: "cust-c1", Outcome: audit.OutcomeSuccess, AssistID: a.ID}
	ev := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.AssistAnswered, CustomerID: "cust-c1", ActorID: "cust-c1",
		Data: map[string]string{events.KeyAssistID: a.ID, events.KeyState: string(assist.RequestApproved)}, OccurredAt: base.Add(time.Minute)}
	if err := s.UpdateAssist(ctx, approved, a, rec, []events.Event{ev}); err != nil {
		t.Fatal(err)
	}
	declined := a
	declined.State, declined.Request.State = assist.StateDeclined, assist.RequestDeclined
	wantErr(t, s.UpdateAssist(ctx, declined, a, note(a.ID, audit.ActionAssistDeclined), nil), apperr.ErrConflict) // answered already
	if got, _ := s.AssistByID(ctx, a.ID); !equalSessions(got, approved) {
		t.Fatalf("approved session: %+v\nwant %+v", got, approved)
	}
	if records, _ := auditRecordsOfAssist(ctx, s, a.ID); len(records) != 1 || records[0].Action != audit.ActionAssistApproved {
		t.Fatalf("records of the answer: %+v", records)
	}
	if evs, _ := RecentEvents(ctx, s, d.ID, 5); len(evs) == 0 || evs[0].ID != ev.ID {
		t.Fatalf("events of the answer: %+v", evs)
	}
	wantEqual(t, pendingIDs(time.Time{}), []string{later.ID})

	// A change of mode is conditional on the mode it was decided on.
	view := approved
	view.Mode = assist.ModeView
	control := view
	control.Mode = assist.ModeControl
	wantErr(t, s.UpdateAssist(ctx, control, view, note(a.ID, audit.ActionAssistEscalated), nil), apperr.ErrConflict) // it is CONTROL, not VIEW

	// An approved assistance gets a ticket until one is redeemed.
	hash := tokens.Hash(tokens.New())
	if err := s.SetAssistTicket(ctx, a.ID, hash, base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AssistByTicket(ctx, hash); err != nil || got.ID != a.ID || !got.TicketExpiresAt.Equal(base.Add(2*time.Minute)) {
		t.Fatalf("the new ticket: %+v %v", got, err)
	}
	if err := s.UseTicket(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SetAssistTicket(ctx, a.ID, tokens.Hash(tokens.New()), base.Add(3*time.Minute)), apperr.ErrConflict)

	// A pending assistance can be ended (withdrawn by the operator).
	if err := s.EndAssist(ctx, later.ID, assist.StateEnded, "op-c", base.Add(time.Minute), note(later.ID, audit.ActionAssistEnded), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AssistByID(ctx, later.ID); got.State != assist.StateEnded || got.Mode != assist.ModeView {
		t.Fatalf("ended pending assistance: %+v", got)
	}
}

// equalSessions compares two sessions by value, times by instant.
func equalSessions(a, b assist.Session) bool {
	return a.ID == b.ID && a.State == b.State && a.ModeNow() == b.ModeNow() && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Request.Mode == b.Request.Mode && a.Request.State == b.Request.State && a.Request.At.Equal(b.Request.At) &&
		a.Request.ExpiresAt.Equal(b.Request.ExpiresAt) && a.Request.AnsweredAt.Equal(b.Request.AnsweredAt) && a.EndedBy == b.EndedBy
}
