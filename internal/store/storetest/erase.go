package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/tokens"
)

// erasure returns the erasure of c at version by an operator of c's domain.
func erasure(c customers.Customer, version int64) customers.Erasure {
	at := now()
	return customers.Erasure{ID: c.ID, DomainID: c.DomainID, Version: version, At: at,
		Audit: audit.Record{ID: ids.New(), DomainID: c.DomainID, At: at, ActorType: audit.ActorOperator, ActorID: "admin",
			Action: audit.ActionUserDeleted, TargetType: audit.TargetCustomer, TargetID: c.ID, Reason: "asked to be forgotten",
			Outcome: audit.OutcomeSuccess},
		Events: []events.Event{{ID: ids.New(), DomainID: c.DomainID, Type: events.CustomerDeleted, CustomerID: c.ID, ActorID: "admin",
			Data: map[string]string{}, OccurredAt: at}},
	}
}

func testDeleteCustomer(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	gone := NewCustomer(d, "Erwin", "Gonecourt", "erwin@example.com", "+1 555 010 4242")
	kept := NewCustomer(d, "Keira", "Gonecourt", "keira@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{gone, kept}, nil); err != nil {
		t.Fatal(err)
	}
	device := func(c customers.Customer, serial string) devices.Device {
		return devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Hall", Model: "T-100", SerialNumber: serial,
			Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: now(), UpdatedAt: now()}
	}
	goneDevice, keptDevice := device(gone, "T100-ERASE-1"), device(kept, "T100-ERASE-2")
	if err := s.InsertDevices(ctx, []devices.Device{goneDevice, keptDevice}); err != nil {
		t.Fatal(err)
	}
	session := func(kind sessions.Kind, subject string) sessions.Session {
		sess := sessions.Session{TokenHash: tokens.Hash(tokens.New()), Kind: kind, DomainID: d.ID, SubjectID: subject,
			CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	own, assisting, keptOwn := session(sessions.KindCustomer, gone.ID), session(sessions.KindAssist, gone.ID), session(sessions.KindCustomer, kept.ID)
	if _, err := s.CustomerKey(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerKey(ctx, kept.ID); err != nil {
		t.Fatal(err)
	}

	// Refused: a stale version and an unknown customer change nothing.
	wantErr(t, s.DeleteCustomer(ctx, erasure(gone, gone.Version+1)), apperr.ErrConflict)
	wantErr(t, s.DeleteCustomer(ctx, erasure(NewCustomer(d, "No", "Body", "nobody@example.com", ""), 1)), apperr.ErrNotFound)
	if got, err := s.CustomerByID(ctx, gone.ID); err != nil || got.Version != gone.Version {
		t.Fatalf("after refused erasures: %+v %v", got, err)
	}

	if n, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{"erwin"}}); err != nil || n != 1 {
		t.Fatalf("CountCustomerMatches(erwin) before the erasure = %d, %v; want 1", n, err)
	}
	e := erasure(gone, gone.Version)
	if err := s.DeleteCustomer(ctx, e); err != nil {
		t.Fatal(err)
	}
	_, err := s.CustomerByID(ctx, gone.ID)
	wantErr(t, err, apperr.ErrNotFound)
	_, err = s.CustomerByEmail(ctx, d.ID, gone.Email)
	wantErr(t, err, apperr.ErrNotFound)
	if cs, err := s.CustomersByIDs(ctx, []string{gone.ID, kept.ID}); err != nil || len(cs) != 1 || cs[0].ID != kept.ID {
		t.Fatalf("CustomersByIDs after the erasure = %+v, %v; want the kept one", cs, err)
	}
	if n, err := s.CountCustomers(ctx, d.ID); err != nil || n != 1 {
		t.Fatalf("CountCustomers = %d, %v; want 1", n, err)
	}
	for _, q := range []customers.SearchQuery{
		{DomainID: d.ID, Limit: 10},
		{DomainID: d.ID, Terms: []string{"gonec"}, Limit: 10},
		{DomainID: d.ID, Terms: []string{"gonecourt"}, Exact: true, Limit: 10},
	} {
		hits, err := s.SearchCustomers(ctx, q)
		if err != nil || len(hits) != 1 || hits[0].Customer.ID != kept.ID {
			t.Fatalf("search %+v after the erasure = %+v, %v; want the kept one only", q, hits, err)
		}
	}
	for _, term := range []string{"erwin", "erw", "4242"} {
		if n, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{term}}); err != nil || n != 0 {
			t.Fatalf("CountCustomerMatches(%s) = %d, %v; want 0", term, n, err)
		}
	}
	if ds, err := s.DevicesByCustomer(ctx, gone.ID); err != nil || len(ds) != 0 {
		t.Fatalf("devices of the erased customer: %+v %v", ds, err)
	}
	_, err = s.DeviceByID(ctx, goneDevice.ID)
	wantErr(t, err, apperr.ErrNotFound)
	for _, sess := range []sessions.Session{own, assisting} {
		_, err := s.SessionByHash(ctx, sess.TokenHash)
		wantErr(t, err, apperr.ErrNotFound)
	}
	if keys, err := s.CustomerKeys(ctx, []string{gone.ID, kept.ID}); err != nil || len(keys) != 1 || keys[kept.ID] == nil {
		t.Fatalf("data keys after the erasure: %v %v; want the kept customer's only", keys, err)
	}
	// The other customer keeps everything.
	if _, err := s.DeviceByID(ctx, keptDevice.ID); err != nil {
		t.Fatalf("the other customer's device: %v", err)
	}
	if _, err := s.SessionByHash(ctx, keptOwn.TokenHash); err != nil {
		t.Fatalf("the other customer's session: %v", err)
	}
	// The record and the event are written.
	records, err := s.FindAudit(ctx, audit.Query{DomainID: d.ID, CustomerID: gone.ID, Limit: 10})
	if err != nil || len(records) != 1 || records[0].ID != e.Audit.ID || records[0].Reason != "asked to be forgotten" {
		t.Fatalf("audit of the erasure: %+v %v", records, err)
	}
	evs, err := RecentEvents(ctx, s, d.ID, 10)
	if err != nil || len(evs) == 0 || evs[0].ID != e.Events[0].ID || evs[0].Type != events.CustomerDeleted {
		t.Fatalf("events after the erasure: %+v %v", evs, err)
	}

	// Once erased, it is not found; its email is free again.
	wantErr(t, s.DeleteCustomer(ctx, erasure(gone, gone.Version)), apperr.ErrNotFound)
	again := NewCustomer(d, "Erwin", "Gonecourt", gone.Email, "")
	if err := s.ImportCustomers(ctx, []customers.Customer{again}, nil); err != nil {
		t.Fatalf("a new customer with the erased one's email: %v", err)
	}
}
