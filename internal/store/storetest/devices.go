package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store"
)

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	c := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(name, serial, mac string) devices.Device {
		return devices.Device{ID: ids.New(), DomainID: d.ID, CustomerID: c.ID, Name: name, Model: "T-100",
			SerialNumber: serial, MACAddress: mac, Online: true,
			Settings: devices.Settings{TargetTemperature: 21.5, Mode: devices.ModeEco, Notifications: true}, CreatedAt: now(), UpdatedAt: now()}
	}
	// The kitchen's serial number and MAC address come back as stored; the
	// bedroom has no MAC address.
	kitchen, bedroom := mk("Kitchen", "T100-2024-0000042", "02:1C:A0:00:00:2A"), mk("Bedroom", "T100-2024-0000043", "")
	if err := s.InsertDevices(ctx, []devices.Device{kitchen, bedroom}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DevicesByCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, got, []devices.Device{bedroom, kitchen})
	got, err = s.DevicesByCustomer(ctx, ids.New())
	if err != nil || len(got) != 0 {
		t.Fatalf("devices of nobody = %v, %v", got, err)
	}

	one, err := s.DeviceByID(ctx, kitchen.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, one, kitchen)
	_, err = s.DeviceByID(ctx, ids.New())
	wantErr(t, err, apperr.ErrNotFound)

	kitchen.Name, kitchen.Settings.Mode, kitchen.UpdatedAt = "Cuisine", devices.ModeHeat, now().Add(time.Second)
	rec := audit.Record{ID: ids.New(), DomainID: d.ID, At: now(), ActorType: audit.ActorCustomer, ActorID: c.ID,
		Action: audit.ActionDeviceUpdated, TargetType: "device", TargetID: kitchen.ID, Outcome: audit.OutcomeSuccess}
	ev := events.Event{ID: ids.New(), DomainID: d.ID, Type: events.DeviceUpdated, CustomerID: c.ID, ActorID: c.ID,
		Data: map[string]string{events.KeyDeviceID: kitchen.ID}, OccurredAt: rec.At}
	if err := s.UpdateDevice(ctx, kitchen, rec, ev); err != nil {
		t.Fatal(err)
	}
	if one, _ = s.DeviceByID(ctx, kitchen.ID); !reflect.DeepEqual(one, kitchen) {
		t.Fatalf("after update: %+v\nwant %+v", one, kitchen)
	}
	if records, _ := AuditRecords(ctx, s, d.ID, 5); len(records) != 1 || records[0] != rec {
		t.Fatalf("audit of the device update: %+v", records)
	}
	// The update's event is written with it (the same unit of work).
	if evs, err := RecentEvents(ctx, s, d.ID, 5); err != nil || len(evs) != 1 || evs[0].ID != ev.ID || evs[0].Type != events.DeviceUpdated ||
		evs[0].Data[events.KeyDeviceID] != kitchen.ID {
		t.Fatalf("events of the device update: %+v, %v", evs, err)
	}
	missing := kitchen
	missing.ID = ids.New()
	wantErr(t, s.UpdateDevice(ctx, missing, audit.Record{ID: ids.New(), DomainID: d.ID}), apperr.ErrNotFound)
}

// testDeviceSerialNumbers checks that the store, not only a read before a
// write, keeps serial numbers unique in a domain.
func testDeviceSerialNumbers(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewDomain(t, s), NewDomain(t, s)
	ada, bea := NewCustomer(a, "Ada", "Lovelace", "ada@example.com", ""), NewCustomer(b, "Bea", "Other", "bea@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{ada, bea}, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(c customers.Customer, serial, mac string) devices.Device {
		return devices.Device{ID: ids.New(), DomainID: c.DomainID, CustomerID: c.ID, Name: "Hall", Model: "HP-9",
			SerialNumber: serial, MACAddress: mac, Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto},
			CreatedAt: now(), UpdatedAt: now()}
	}
	first := mk(ada, "HP9-2023-0000001", "02:10:C0:00:00:01")
	if err := s.InsertDevices(ctx, []devices.Device{first}); err != nil {
		t.Fatal(err)
	}
	// Another device of the same domain with that serial number, even of
	// another customer and with another MAC address, is refused.
	again := mk(ada, first.SerialNumber, "02:10:C0:00:00:02")
	wantErr(t, s.InsertDevices(ctx, []devices.Device{again}), apperr.ErrConflict)
	if _, err := s.DeviceByID(ctx, again.ID); err == nil {
		t.Fatal("the refused device was stored")
	}
	// The same serial number in another domain is another device's.
	elsewhere := mk(bea, first.SerialNumber, first.MACAddress)
	if err := s.InsertDevices(ctx, []devices.Device{elsewhere}); err != nil {
		t.Fatalf("the same serial number in another domain: %v", err)
	}
	for _, want := range []devices.Device{first, elsewhere} {
		got, err := s.DeviceByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, got, want)
	}
}
