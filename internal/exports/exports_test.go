package exports

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

func TestOfGathersEverythingAboutTheCustomerOnly(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	d, other := storetest.NewDomain(t, st), storetest.NewDomain(t, st)
	ada := storetest.NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	bob := storetest.NewCustomer(d, "Bob", "Baker", "bob@example.com", "")
	eve := storetest.NewCustomer(other, "Eve", "Else", "eve@example.com", "")
	for _, c := range []customers.Customer{ada, bob, eve} {
		if err := st.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	dev := devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: ada.ID, Name: "Hall", Model: "T-100", SerialNumber: "T100-X1",
		Settings: devices.Settings{Mode: devices.ModeEco}, CreatedAt: at, UpdatedAt: at}
	if err := st.InsertDevices(ctx, []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	// 250 records about Ada (three pages and a half), and some about Bob.
	for i := range 250 {
		who := ada.ID
		if i%10 == 0 {
			who = bob.ID
		}
		r := audit.Record{ID: ids.New(), DomainID: d.ID, At: at.Add(time.Duration(i) * time.Second), ActorType: audit.ActorCustomer,
			ActorID: who, Action: audit.ActionLoginSuccess, TargetType: audit.TargetCustomer, TargetID: who, Outcome: audit.OutcomeSuccess}
		if err := st.AppendAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clock := func() time.Time { return at }
	s := NewService(customers.NewService(st, nil, passwords.Policy{}, clock), devices.NewService(st, clock), audit.NewService(st, clock), clock)

	e, err := s.Of(ctx, d.ID, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Customer.ID != ada.ID || len(e.Devices) != 1 || e.Devices[0].ID != dev.ID || !e.At.Equal(at) {
		t.Fatalf("export: %+v", e)
	}
	if len(e.Activity) != 225 || !e.ActivityComplete {
		t.Fatalf("%d records (complete: %v), want Ada's 225", len(e.Activity), e.ActivityComplete)
	}
	for i, r := range e.Activity {
		if r.TargetID != ada.ID || i > 0 && !r.At.Before(e.Activity[i-1].At) {
			t.Fatalf("record %d: %+v, not Ada's or not newest first", i, r)
		}
	}

	s.limit = 130
	if e, err = s.Of(ctx, d.ID, ada.ID); err != nil || len(e.Activity) != 130 || e.ActivityComplete {
		t.Fatalf("with a limit of 130: %d records (complete: %v), %v", len(e.Activity), e.ActivityComplete, err)
	}
	s.limit = 225
	if e, err = s.Of(ctx, d.ID, ada.ID); err != nil || len(e.Activity) != 225 || !e.ActivityComplete {
		t.Fatalf("with a limit of exactly 225: %d records (complete: %v), %v", len(e.Activity), e.ActivityComplete, err)
	}

	if _, err := s.Of(ctx, d.ID, eve.ID); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another domain's customer: %v, want not found", err)
	}
	if _, err := s.Of(ctx, d.ID, ids.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("an unknown customer: %v, want not found", err)
	}
}
