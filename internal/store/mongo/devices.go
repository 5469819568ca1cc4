package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/events"
)

type deviceDoc struct {
	ID           string           `bson:"_id"`
	DomainID     string           `bson:"domainId"`
	CustomerID   string           `bson:"customerId"`
	Name         string           `bson:"name"`
	Model        string           `bson:"model"`
	SerialNumber string           `bson:"serialNumber"`
	MACAddress   string           `bson:"macAddress,omitempty"`
	Online       bool             `bson:"online"`
	Settings     devices.Settings `bson:"settings"`
	CreatedAt    time.Time        `bson:"createdAt"`
	UpdatedAt    time.Time        `bson:"updatedAt"`
	Outbox       []outboxDoc      `bson:"outbox,omitempty"`
}

func newDeviceDoc(d devices.Device) deviceDoc {
	return deviceDoc{ID: d.ID, DomainID: d.DomainID, CustomerID: d.CustomerID, Name: d.Name, Model: d.Model,
		SerialNumber: d.SerialNumber, MACAddress: d.MACAddress, Online: d.Online,
		Settings: d.Settings, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func (d deviceDoc) device() devices.Device {
	return devices.Device{ID: d.ID, DomainID: d.DomainID, CustomerID: d.CustomerID, Name: d.Name, Model: d.Model,
		SerialNumber: d.SerialNumber, MACAddress: d.MACAddress, Online: d.Online,
		Settings: d.Settings, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// backfillBatch is how many devices one write of backfillDevices updates (a
// variable so that a test can make several batches of a few devices).
var backfillBatch = 500

// backfillDevices gives every device stored before devices had serial
// numbers the serial number devices.BackfillSerial and, unless it has one,
// the MAC address devices.BackfillMAC derive from its id, the values the
// SQLite migration gives. It runs at start-up before the unique index on
// {domainId, serialNumber} is built, which several documents without a
// serial number in one domain would break. It is idempotent, and instances
// starting together write the same values: each update is conditional on
// the serial number still missing. The meta document deviceSerialsID, written
// when it is done, makes later starts skip it: finding the devices without a
// serial number reads every device (no index holds a missing field).
func (s *Store) backfillDevices(ctx context.Context) error {
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: deviceSerialsID}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
	}
	missing := bson.D{{Key: "serialNumber", Value: bson.D{{Key: "$exists", Value: false}}}}
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "model", Value: 1}, {Key: "macAddress", Value: 1}})
	cur, err := s.devices.Find(ctx, missing, opts)
	if err != nil {
		return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
	}
	defer cur.Close(ctx)
	var batch []mongo.WriteModel
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := s.devices.BulkWrite(ctx, batch, options.BulkWrite().SetOrdered(false))
		batch = batch[:0]
		return err
	}
	for cur.Next(ctx) {
		var doc struct {
			ID         string  `bson:"_id"`
			Model      string  `bson:"model"`
			MACAddress *string `bson:"macAddress"`
		}
		if err := cur.Decode(&doc); err != nil {
			return fmt.Errorf("backfill device serial numbers: %w", err)
		}
		set := bson.D{{Key: "serialNumber", Value: devices.BackfillSerial(doc.ID, doc.Model)}}
		if doc.MACAddress == nil {
			set = append(set, bson.E{Key: "macAddress", Value: devices.BackfillMAC(doc.ID)})
		}
		filter := bson.D{{Key: "_id", Value: doc.ID}, missing[0]}
		batch = append(batch, mongo.NewUpdateOneModel().SetFilter(filter).SetUpdate(bson.D{{Key: "$set", Value: set}}))
		if len(batch) == backfillBatch {
			if err := flush(); err != nil {
				return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
			}
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
	}
	if err := flush(); err != nil {
		return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
	}
	_, err = s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: deviceSerialsID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: true}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("backfill device serial numbers: %w", mapErr(err))
	}
	return nil
}

// deviceSerialsID names the meta document written once every device has a
// serial number (backfillDevices).
const deviceSerialsID = "deviceSerials"

// InsertDevices implements devices.Store.
func (s *Store) InsertDevices(ctx context.Context, ds []devices.Device) error {
	docs := make([]any, len(ds))
	for i, d := range ds {
		docs[i] = newDeviceDoc(d)
	}
	if _, err := s.devices.InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("insert devices: %w", mapErr(err))
	}
	return nil
}

// DevicesByCustomer implements devices.Store.
func (s *Store) DevicesByCustomer(ctx context.Context, customerID string) ([]devices.Device, error) {
	opts := options.Find().SetSort(bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}})
	cur, err := s.devices.Find(ctx, bson.D{{Key: "customerId", Value: customerID}}, opts)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", customerID, mapErr(err))
	}
	var docs []deviceDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", customerID, mapErr(err))
	}
	out := make([]devices.Device, len(docs))
	for i, d := range docs {
		out[i] = d.device()
	}
	return out, nil
}

// DeviceByID implements devices.Store.
func (s *Store) DeviceByID(ctx context.Context, id string) (devices.Device, error) {
	var doc deviceDoc
	if err := s.devices.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return devices.Device{}, fmt.Errorf("device %s: %w", id, mapErr(err))
	}
	return doc.device(), nil
}

// UpdateDevice implements devices.Store, with the audit record and the
// events in the device's outbox (see outbox.go).
func (s *Store) UpdateDevice(ctx context.Context, d devices.Device, rec audit.Record, evs ...events.Event) error {
	items := outboxItems(rec, evs)
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "name", Value: d.Name}, {Key: "settings", Value: d.Settings}, {Key: "updatedAt", Value: d.UpdatedAt}}},
		{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}},
	}
	res, err := s.devices.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, update)
	if err == nil {
		err = noneChanged(res, mongo.ErrNoDocuments)
	}
	if err == nil {
		err = s.relay(ctx, s.devices, d.ID, items)
	}
	if err != nil {
		return fmt.Errorf("update device %s: %w", d.ID, mapErr(err))
	}
	return nil
}
