package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/tokens"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store"
)

func testAssists(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	base := now()
	mk := func(customer, operator string, i int) assist.Session {
		return assist.Session{ID: ids.New(), DomainID: d.ID, CustomerID: customer, OperatorID: operator, Reason: "help",
			StartedAt: base.Add(time.Duration(i) * time.Minute), ExpiresAt: base.Add(time.Duration(i)*time.Minute + 30*time.Minute),
			State: assist.StateActive, TicketHash: tokens.Hash(tokens.New()), TicketExpiresAt: base.Add(time.Minute), Mode: assist.ModeControl}
	}
	a := mk("cust-1", "op-1", 0)
	rec := audit.Record{ID: ids.New(), DomainID: d.ID, At: base, ActorType: audit.ActorOperator, ActorID: "op-1",
		Action: audit.ActionAssistStarted, TargetType: "customer", TargetID: "cust-1", Reason: "help", Outcome: audit.OutcomeSuccess, AssistID: a.ID}
	ev := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.AssistStarted, CustomerID: "cust-1", ActorID: "op-1",
		Data: map[string]string{"assistId": a.ID}, OccurredAt: base}
	if err := s.CreateAssist(ctx, a, rec, []events.Event{ev}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AssistByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, a)
	got, err = s.AssistByTicket(ctx, a.TicketHash)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, a)
	_, err = s.AssistByTicket(ctx, "nope")
	wantErr(t, err, apperr.ErrNotFound)
	records, err := auditRecordsOfAssist(ctx, s, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, records, []audit.Record{rec})
	if evs, _ := RecentEvents(ctx, s, d.ID, 5); len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("events of the start: %+v", evs)
	}

	if err := s.UseTicket(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.UseTicket(ctx, a.ID), apperr.ErrConflict)
	if got, _ := s.AssistByID(ctx, a.ID); !got.TicketUsed {
		t.Fatal("ticket not marked used")
	}

	others := []assist.Session{mk("cust-2", "op-1", 1), mk("cust-1", "op-2", 2), mk("cust-1", "op-1", 3)}
	for _, o := range others {
		if err := s.CreateAssist(ctx, o, audit.Record{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	end := audit.Record{ID: ids.New(), DomainID: d.ID, At: base.Add(5 * time.Minute), Action: audit.ActionAssistEnded, AssistID: a.ID}
	if err := s.EndAssist(ctx, a.ID, assist.StateEnded, "op-1", base.Add(5*time.Minute), end, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.EndAssist(ctx, a.ID, assist.StateRevoked, "system", base, audit.Record{}, nil), apperr.ErrConflict)
	if got, _ := s.AssistByID(ctx, a.ID); got.State != assist.StateEnded || got.EndedBy != "op-1" || !got.EndedAt.Equal(base.Add(5*time.Minute)) {
		t.Fatalf("ended session: %+v", got)
	}

	// Newest first, filters, paging.
	page, err := s.AssistSessions(ctx, assist.Query{DomainID: d.ID, CustomerID: "cust-1", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != others[2].ID || page[1].ID != others[1].ID {
		t.Fatalf("first page: %+v", page)
	}
	rest, err := s.AssistSessions(ctx, assist.Query{DomainID: d.ID, CustomerID: "cust-1", Limit: 2, Before: &assist.Cursor{StartedAt: page[1].StartedAt, ID: page[1].ID}})
	if err != nil || len(rest) != 1 || rest[0].ID != a.ID {
		t.Fatalf("second page: %+v %v", rest, err)
	}
	ended, _ := s.AssistSessions(ctx, assist.Query{DomainID: d.ID, State: assist.StateEnded, Limit: 10})
	if len(ended) != 1 || ended[0].ID != a.ID {
		t.Fatalf("ended sessions: %+v", ended)
	}
	if other, _ := s.AssistSessions(ctx, assist.Query{DomainID: NewDomain(t, s).ID, Limit: 10}); len(other) != 0 {
		t.Fatalf("another domain's sessions: %+v", other)
	}

	active, _ := s.ActiveAssists(ctx, assist.ActiveFilter{OperatorID: "op-1"})
	if len(active) != 2 || active[0].ID != others[0].ID || active[1].ID != others[2].ID {
		t.Fatalf("active of op-1: %+v", active)
	}
	active, _ = s.ActiveAssists(ctx, assist.ActiveFilter{CustomerID: "cust-1"})
	if len(active) != 2 {
		t.Fatalf("active of cust-1: %+v", active)
	}
	active, _ = s.ActiveAssists(ctx, assist.ActiveFilter{ExpiredAfter: base.Add(31 * time.Minute)})
	if len(active) != 1 || active[0].ID != others[0].ID {
		t.Fatalf("expired by then: %+v", active)
	}
}
