package devices_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/clock"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// start is where the tests' clocks begin, at the millisecond precision the store keeps.
var start = time.Date(2031, 3, 14, 9, 26, 53, 589e6, time.UTC)

// fixture is a device service on a real SQLite store: Ada has a kitchen and
// a bedroom thermostat, Bob (same domain) a garage one, Stella (another
// domain) a loft one.
type fixture struct {
	st  *sqlite.Store
	clk *clock.Manual
	svc *devices.Service

	domain, other                  domains.Domain
	ada, bob, stella               customers.Customer
	kitchen, bedroom, garage, loft devices.Device
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(ctx) })
	f := &fixture{st: st, clk: clock.NewManual(start),
		domain: storetest.NewDomain(t, st), other: storetest.NewDomain(t, st)}
	f.ada = storetest.NewCustomer(f.domain, "Ada", "Lovelace", "ada@example.com", "")
	f.bob = storetest.NewCustomer(f.domain, "Bob", "Builder", "bob@example.com", "")
	f.stella = storetest.NewCustomer(f.other, "Stella", "Stranger", "stella@example.com", "")
	if err := st.ImportCustomers(ctx, []customers.Customer{f.ada, f.bob, f.stella}, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(c customers.Customer, name string) devices.Device {
		return devices.Device{ID: ids.New(), DomainID: c.DomainID, CustomerID: c.ID, Name: name, Model: "T-100",
			SerialNumber: "T100-" + strings.ToUpper(name), MACAddress: "02:00:00:00:00:01", Online: true,
			Settings:  devices.Settings{TargetTemperature: 20.5, Mode: devices.ModeEco, Notifications: true},
			CreatedAt: f.clk.Now(), UpdatedAt: f.clk.Now()}
	}
	f.kitchen, f.bedroom, f.garage, f.loft = mk(f.ada, "Kitchen"), mk(f.ada, "Bedroom"), mk(f.bob, "Garage"), mk(f.stella, "Loft")
	if err := st.InsertDevices(ctx, []devices.Device{f.kitchen, f.bedroom, f.garage, f.loft}); err != nil {
		t.Fatal(err)
	}
	f.svc = devices.NewService(st, f.clk.Now)
	f.clk.Advance(time.Hour)
	return f
}

func (f *fixture) customer(c customers.Customer) audit.Actor {
	return audit.Actor{Type: audit.ActorCustomer, ID: c.ID, DomainID: c.DomainID}
}

func (f *fixture) records(t *testing.T, domainID string) []audit.Record {
	t.Helper()
	recs, err := f.st.FindAudit(context.Background(), audit.Query{DomainID: domainID, Action: audit.ActionDeviceUpdated, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func (f *fixture) stored(t *testing.T, id string) devices.Device {
	t.Helper()
	d, err := f.st.DeviceByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deviceNames(ds []devices.Device) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return strings.Join(out, ",")
}

func TestOfCustomer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A device stored under Ada but in another domain: no domain shows it with hers.
	stray := devices.Device{ID: ids.New(), DomainID: f.other.ID, CustomerID: f.ada.ID, Name: "Attic", Model: "T-100", SerialNumber: "T100-ATTIC",
		Settings: devices.Settings{Mode: devices.ModeOff}, CreatedAt: f.clk.Now(), UpdatedAt: f.clk.Now()}
	if err := f.st.InsertDevices(ctx, []devices.Device{stray}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name             string
		domain, customer string
		want             string
	}{
		{"Ada's, by name", f.domain.ID, f.ada.ID, "Bedroom,Kitchen"},
		{"Bob's", f.domain.ID, f.bob.ID, "Garage"},
		{"another domain's customer", f.domain.ID, f.stella.ID, ""},
		{"no such customer", f.domain.ID, ids.New(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.OfCustomer(ctx, tt.domain, tt.customer)
			if err != nil || deviceNames(got) != tt.want {
				t.Fatalf("OfCustomer = %q, %v; want %q", deviceNames(got), err, tt.want)
			}
		})
	}
	got, err := f.svc.OfCustomer(ctx, f.domain.ID, f.ada.ID)
	if err != nil || len(got) != 2 || got[0] != f.bedroom || got[1] != f.kitchen {
		t.Fatalf("Ada's devices: %+v, %v", got, err)
	}
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name       string
		domain, id string
		wantIs     error // nil: the kitchen
	}{
		{"the domain's", f.domain.ID, f.kitchen.ID, nil},
		{"another domain's", f.domain.ID, f.loft.ID, apperr.ErrOtherDomain},
		{"no such device", f.domain.ID, ids.New(), apperr.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := f.svc.Get(context.Background(), tt.domain, tt.id)
			if tt.wantIs == nil {
				if err != nil || d != f.kitchen {
					t.Fatalf("Get = %+v, %v; want %+v", d, err, f.kitchen)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) || !errors.Is(err, apperr.ErrNotFound) || d != (devices.Device{}) {
				t.Fatalf("Get = %+v, %v; want %v (answered as not found)", d, err, tt.wantIs)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	tests := []struct {
		name   string
		change devices.Change
		// want edits the kitchen as it should be stored; nil when the change is refused
		want        func(d *devices.Device)
		noop        bool   // the change leaves the device as it is
		field, code string // the refusal
	}{
		{name: "rename", change: devices.Change{Name: ptr("  Cuisine ")}, want: func(d *devices.Device) { d.Name = "Cuisine" }},
		{name: "rename, stored in NFC", change: devices.Change{Name: ptr("Cafe\u0301")}, want: func(d *devices.Device) { d.Name = "Caf\u00e9" }},
		{name: "rename to the longest name", change: devices.Change{Name: ptr(strings.Repeat("é", devices.MaxNameLength))},
			want: func(d *devices.Device) { d.Name = strings.Repeat("é", devices.MaxNameLength) }},
		{name: "lowest temperature", change: devices.Change{TargetTemperature: ptr(devices.MinTemperature)},
			want: func(d *devices.Device) { d.Settings.TargetTemperature = devices.MinTemperature }},
		{name: "highest temperature", change: devices.Change{TargetTemperature: ptr(devices.MaxTemperature)},
			want: func(d *devices.Device) { d.Settings.TargetTemperature = devices.MaxTemperature }},
		{name: "mode", change: devices.Change{Mode: ptr(devices.ModeHeat)}, want: func(d *devices.Device) { d.Settings.Mode = devices.ModeHeat }},
		{name: "notifications off", change: devices.Change{Notifications: ptr(false)}, want: func(d *devices.Device) { d.Settings.Notifications = false }},
		{name: "everything", change: devices.Change{Name: ptr("Den"), TargetTemperature: ptr(18.0), Mode: ptr(devices.ModeCool), Notifications: ptr(false)},
			want: func(d *devices.Device) {
				d.Name, d.Settings = "Den", devices.Settings{TargetTemperature: 18, Mode: devices.ModeCool, Notifications: false}
			}},
		// A change that leaves the device as it is writes nothing: no record, no event.
		{name: "nothing", change: devices.Change{}, want: func(d *devices.Device) {}, noop: true},
		{name: "the same values", change: devices.Change{Name: ptr(" Kitchen "), TargetTemperature: ptr(20.5), Mode: ptr(devices.ModeEco), Notifications: ptr(true)},
			want: func(d *devices.Device) {}, noop: true},

		{name: "too cold", change: devices.Change{TargetTemperature: ptr(devices.MinTemperature - 0.5)}, field: "settings.targetTemperature", code: "OUT_OF_RANGE"},
		{name: "too hot", change: devices.Change{TargetTemperature: ptr(devices.MaxTemperature + 0.5)}, field: "settings.targetTemperature", code: "OUT_OF_RANGE"},
		{name: "between steps", change: devices.Change{TargetTemperature: ptr(21.123456789)}, field: "settings.targetTemperature", code: "INVALID"},
		{name: "a tenth", change: devices.Change{TargetTemperature: ptr(21.3)}, field: "settings.targetTemperature", code: "INVALID"},
		{name: "NaN degrees", change: devices.Change{TargetTemperature: ptr(math.NaN())}, field: "settings.targetTemperature", code: "INVALID"},
		{name: "infinite degrees", change: devices.Change{TargetTemperature: ptr(math.Inf(1))}, field: "settings.targetTemperature", code: "INVALID"},
		{name: "unknown mode", change: devices.Change{Mode: ptr(devices.Mode("TURBO"))}, field: "settings.mode", code: "INVALID"},
		{name: "lower-case mode", change: devices.Change{Mode: ptr(devices.Mode("heat"))}, field: "settings.mode", code: "INVALID"},
		{name: "blank name", change: devices.Change{Name: ptr(" ")}, field: "name", code: "REQUIRED"},
		{name: "name too long", change: devices.Change{Name: ptr(strings.Repeat("a", devices.MaxNameLength+1))}, field: "name", code: "TOO_LONG"},
		{name: "name with a bidi override", change: devices.Change{Name: ptr("Hall\u202e")}, field: "name", code: "INVALID"},
		{name: "name with isolates", change: devices.Change{Name: ptr("\u2066Hall\u2069")}, field: "name", code: "INVALID"},
		{name: "name with NUL", change: devices.Change{Name: ptr("Hall\x00")}, field: "name", code: "INVALID"},
		{name: "name with a line feed", change: devices.Change{Name: ptr("Hall\n")}, field: "name", code: "INVALID"},
		{name: "name with a tab", change: devices.Change{Name: ptr("Hall\t")}, field: "name", code: "INVALID"},
		{name: "name with NEL", change: devices.Change{Name: ptr("Hall\u0085")}, field: "name", code: "INVALID"},
		{name: "name not UTF-8", change: devices.Change{Name: ptr("Hall\xff")}, field: "name", code: "INVALID"},
		// One bad value refuses the whole change.
		{name: "good name, bad temperature", change: devices.Change{Name: ptr("Den"), TargetTemperature: ptr(99.0)},
			field: "settings.targetTemperature", code: "OUT_OF_RANGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := audit.WithRequestID(context.Background(), "req-7")
			got, err := f.svc.Update(ctx, f.customer(f.ada), f.ada.ID, f.kitchen.ID, tt.change)
			if tt.want == nil {
				var ve *apperr.ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field || ve.Code != tt.code {
					t.Fatalf("Update = %+v, %v; want %s on %s", got, err, tt.code, tt.field)
				}
				if d := f.stored(t, f.kitchen.ID); d != f.kitchen {
					t.Fatalf("a refused change was stored: %+v", d)
				}
				if recs := f.records(t, f.domain.ID); len(recs) != 0 {
					t.Fatalf("a refused change was audited: %+v", recs)
				}
				return
			}
			want := f.kitchen
			tt.want(&want)
			if tt.noop {
				if err != nil || got != f.kitchen || f.stored(t, f.kitchen.ID) != f.kitchen {
					t.Fatalf("Update = %+v, %v; want the device as it was", got, err)
				}
				if recs := f.records(t, f.domain.ID); len(recs) != 0 {
					t.Fatalf("a change of nothing was audited: %+v", recs)
				}
				if evs, err := f.st.RecentEvents(context.Background(), f.domain.ID, 10); err != nil || len(evs) != 0 {
					t.Fatalf("a change of nothing was announced: %+v, %v", evs, err)
				}
				return
			}
			want.UpdatedAt = f.clk.Now()
			if err != nil || got != want {
				t.Fatalf("Update = %+v, %v\nwant     %+v", got, err, want)
			}
			if d := f.stored(t, f.kitchen.ID); d != want {
				t.Fatalf("stored %+v\nwant   %+v", d, want)
			}
			recs := f.records(t, f.domain.ID)
			if len(recs) != 1 {
				t.Fatalf("records: %+v", recs)
			}
			if r := recs[0]; r.ActorType != audit.ActorCustomer || r.ActorID != f.ada.ID || r.TargetType != "device" ||
				r.TargetID != f.kitchen.ID || !r.At.Equal(want.UpdatedAt) || r.RequestID != "req-7" || r.Outcome != audit.OutcomeSuccess {
				t.Fatalf("record of the change: %+v", r)
			}
		})
	}
}

func TestUpdateOnlyTheCustomersOwnDevices(t *testing.T) {
	for _, tt := range []struct {
		name     string
		actor    func(f *fixture) audit.Actor
		customer func(f *fixture) string
		device   func(f *fixture) string
		wantIs   error
	}{
		{"another customer's device", func(f *fixture) audit.Actor { return f.customer(f.ada) },
			func(f *fixture) string { return f.ada.ID }, func(f *fixture) string { return f.garage.ID }, apperr.ErrNotFound},
		{"another domain's device", func(f *fixture) audit.Actor { return f.customer(f.ada) },
			func(f *fixture) string { return f.ada.ID }, func(f *fixture) string { return f.loft.ID }, apperr.ErrOtherDomain},
		// The owner named, but by a caller of another domain.
		{"the owner, from another domain", func(f *fixture) audit.Actor { return f.customer(f.stella) },
			func(f *fixture) string { return f.ada.ID }, func(f *fixture) string { return f.kitchen.ID }, apperr.ErrOtherDomain},
		{"no such device", func(f *fixture) audit.Actor { return f.customer(f.ada) },
			func(f *fixture) string { return f.ada.ID }, func(f *fixture) string { return ids.New() }, apperr.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := tt.device(f)
			d, err := f.svc.Update(context.Background(), tt.actor(f), tt.customer(f), id, devices.Change{Name: ptr("Mine now")})
			if !errors.Is(err, tt.wantIs) || !errors.Is(err, apperr.ErrNotFound) || d != (devices.Device{}) {
				t.Fatalf("Update = %+v, %v; want %v (answered as not found)", d, err, tt.wantIs)
			}
			for _, dev := range []devices.Device{f.kitchen, f.bedroom, f.garage, f.loft} {
				if got := f.stored(t, dev.ID); got != dev {
					t.Fatalf("a refused change was stored: %+v", got)
				}
			}
			for _, dom := range []string{f.domain.ID, f.other.ID} {
				if recs := f.records(t, dom); len(recs) != 0 {
					t.Fatalf("a refused change was audited: %+v", recs)
				}
			}
		})
	}
}

func TestUpdateByAnAssistingOperator(t *testing.T) {
	f := newFixture(t)
	actor := audit.Actor{Type: audit.ActorOperator, ID: ids.New(), ActingFor: f.ada.ID, AssistID: ids.New(), DomainID: f.domain.ID}
	if _, err := f.svc.Update(context.Background(), actor, f.ada.ID, f.bedroom.ID, devices.Change{Mode: ptr(devices.ModeAuto)}); err != nil {
		t.Fatal(err)
	}
	recs := f.records(t, f.domain.ID)
	if len(recs) != 1 || recs[0].ActorType != audit.ActorOperator || recs[0].ActorID != actor.ID || recs[0].ActingFor != f.ada.ID ||
		recs[0].AssistID != actor.AssistID || recs[0].TargetID != f.bedroom.ID {
		t.Fatalf("record of the change: %+v; want the operator acting for Ada in the assistance", recs)
	}
	// The customer's activity shows it.
	mine, err := f.st.FindAudit(context.Background(), audit.Query{DomainID: f.domain.ID, CustomerID: f.ada.ID, Limit: 10})
	if err != nil || len(mine) != 1 || mine[0].ID != recs[0].ID {
		t.Fatalf("Ada's activity: %+v, %v", mine, err)
	}
}
