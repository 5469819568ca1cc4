package mongo

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/store/mongotest"
)

// Devices stored before devices had serial numbers get, when a store opens,
// the serial numbers and MAC addresses the SQLite migration gives
// (devices.BackfillSerial, devices.BackfillMAC), in several batches; a MAC
// address a device already has stays; opening again changes nothing; and
// the unique index on {domainId, serialNumber} is there afterwards.
func TestOpenBackfillsDeviceSerialNumbers(t *testing.T) {
	defer func(n int) { backfillBatch = n }(backfillBatch)
	backfillBatch = 4
	ctx := context.Background()
	uri := mongotest.URI(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	coll := client.Database(databaseOf(t, uri)).Collection("devices")
	models := []string{"Thermostat T-100", "Heat Pump HP-9", ""}
	domains := []string{ids.New(), ids.New()}
	kept := "02:AA:BB:CC:DD:EE"
	var old []bson.D
	for i := range 21 {
		id := ids.New()
		if i == 5 {
			id = "legacy-device-5"
		}
		doc := bson.D{{Key: "_id", Value: id}, {Key: "domainId", Value: domains[i%2]}, {Key: "customerId", Value: ids.New()},
			{Key: "name", Value: "Hall"}, {Key: "model", Value: models[i%3]}, {Key: "online", Value: true},
			{Key: "settings", Value: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}},
			{Key: "createdAt", Value: time.Now()}, {Key: "updatedAt", Value: time.Now()}}
		if i == 3 {
			doc = append(doc, bson.E{Key: "macAddress", Value: kept})
		}
		old = append(old, doc)
	}
	if _, err := coll.InsertMany(ctx, old); err != nil {
		t.Fatal(err)
	}

	var first []devices.Device
	for open := range 2 {
		s, err := Open(ctx, uri)
		if err != nil {
			t.Fatalf("open %d: %v", open+1, err)
		}
		var got []devices.Device
		for i, doc := range old {
			id, model := doc[0].Value.(string), doc[4].Value.(string)
			d, err := s.DeviceByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantMAC := devices.BackfillMAC(id)
			if i == 3 {
				wantMAC = kept
			}
			if d.SerialNumber != devices.BackfillSerial(id, model) || d.MACAddress != wantMAC {
				t.Fatalf("open %d: device %s of model %q got %q and %q; want %q and %q", open+1, id, model, d.SerialNumber, d.MACAddress,
					devices.BackfillSerial(id, model), wantMAC)
			}
			got = append(got, d)
		}
		if open == 0 {
			first = got
		} else {
			for i := range got {
				if got[i] != first[i] {
					t.Fatalf("opening again changed %+v to %+v", first[i], got[i])
				}
			}
		}
		again := got[0]
		again.ID = ids.New()
		if err := s.InsertDevices(ctx, []devices.Device{again}); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("a second device with serial number %s in its domain: %v, want a conflict", again.SerialNumber, err)
		}
		_ = s.Close(ctx)
	}
	// Done, and recorded: later starts skip reading every device.
	if err := client.Database(databaseOf(t, uri)).Collection("meta").FindOne(ctx, bson.D{{Key: "_id", Value: deviceSerialsID}}).Err(); err != nil {
		t.Errorf("no record of the backfill: %v", err)
	}
}
