package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
)

// findAll decodes every document of coll that filter selects.
func findAll[D any](ctx context.Context, coll *mongo.Collection, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]D, error) {
	cur, err := coll.Find(ctx, filter, opts...)
	if err != nil {
		return nil, mapErr(err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapErr(err)
	}
	return docs, nil
}

func in(values []string) bson.D { return bson.D{{Key: "$in", Value: distinctIDs(values)}} }

// CustomersByImportKeys implements imports.Store: the domain's customers
// whose external id is one of externalIDs or whose email is one of emails.
func (s *Store) CustomersByImportKeys(ctx context.Context, domainID string, externalIDs, emails []string) ([]customers.Customer, error) {
	filter := bson.D{{Key: "domainId", Value: domainID}, notErased, {Key: "$or", Value: bson.A{
		bson.D{{Key: "externalId", Value: in(externalIDs)}}, bson.D{{Key: "email", Value: in(emails)}},
	}}}
	docs, err := findAll[customerDoc](ctx, s.customers, filter)
	if err != nil {
		return nil, fmt.Errorf("customers by import keys: %w", err)
	}
	out := make([]customers.Customer, len(docs))
	for i, d := range docs {
		out[i] = d.customer()
	}
	return out, nil
}

// DevicesBySerialNumbers implements imports.Store.
func (s *Store) DevicesBySerialNumbers(ctx context.Context, domainID string, serials []string) ([]devices.Device, error) {
	return s.findDevices(ctx, bson.D{{Key: "domainId", Value: domainID}, {Key: "serialNumber", Value: in(serials)}})
}

// DevicesOfCustomers implements imports.ExportStore.
func (s *Store) DevicesOfCustomers(ctx context.Context, ids []string) ([]devices.Device, error) {
	return s.findDevices(ctx, bson.D{{Key: "customerId", Value: in(ids)}})
}

func (s *Store) findDevices(ctx context.Context, filter bson.D) ([]devices.Device, error) {
	docs, err := findAll[deviceDoc](ctx, s.devices, filter)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	out := make([]devices.Device, len(docs))
	for i, d := range docs {
		out[i] = d.device()
	}
	return out, nil
}

// CustomersAfter implements imports.ExportStore: up to limit customers of
// the domain with ids above afterID, in id order.
func (s *Store) CustomersAfter(ctx context.Context, domainID, afterID string, limit int) ([]customers.Customer, error) {
	filter := bson.D{{Key: "domainId", Value: domainID}, notErased, {Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}}
	docs, err := findAll[customerDoc](ctx, s.customers, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("customers after %s: %w", afterID, err)
	}
	out := make([]customers.Customer, len(docs))
	for i, d := range docs {
		out[i] = d.customer()
	}
	return out, nil
}

// ImportCustomers implements imports.Store with two unordered bulk
// inserts, the customers then their devices. MongoDB has no all-or-none
// here without transactions: a batch once begun is written whole even if
// ctx ends (an interrupted import finishes its batch, for at most
// batchGrace), but a process killed in between leaves customers without
// some of their devices, which the next run of the file adds (counted as
// updated).
func (s *Store) ImportCustomers(ctx context.Context, cs []customers.Customer, ds []devices.Device) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchGrace)
	defer cancel()
	docs := make([]any, len(cs))
	for i, c := range cs {
		docs[i] = newCustomerDoc(c)
	}
	unordered := options.InsertMany().SetOrdered(false)
	if len(docs) > 0 {
		_, err := s.customers.InsertMany(ctx, docs, unordered)
		if verr := s.countInserted(ctx, cs, err); verr != nil && err == nil {
			err = verr
		}
		if err != nil {
			return fmt.Errorf("import customers: %w", mapErr(err))
		}
	}
	deviceDocs := make([]any, len(ds))
	for i, d := range ds {
		deviceDocs[i] = newDeviceDoc(d)
	}
	if len(deviceDocs) > 0 {
		if _, err := s.devices.InsertMany(ctx, deviceDocs, unordered); err != nil {
			return fmt.Errorf("import devices: %w", mapErr(err))
		}
	}
	return nil
}

// batchGrace bounds how long a batch may still be written after its import
// was interrupted.
const batchGrace = time.Minute

// RehashPassword implements sessions.Store: the customer's password hash
// becomes newHash if it still is oldHash, with nothing else changed (not
// the version, the sessions or the events).
func (s *Store) RehashPassword(ctx context.Context, customerID, oldHash, newHash string) error {
	_, err := s.customers.UpdateOne(ctx, bson.D{{Key: "_id", Value: customerID}, {Key: "passwordHash", Value: oldHash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "passwordHash", Value: newHash}}}})
	if err != nil {
		return fmt.Errorf("rehash password of %s: %w", customerID, mapErr(err))
	}
	return nil
}

// MostDevicesOfACustomer implements imports.ExportStore.
func (s *Store) MostDevicesOfACustomer(ctx context.Context, domainID string) (int, error) {
	cur, err := s.devices.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "domainId", Value: domainID}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$customerId"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}}}},
		{{Key: "$limit", Value: 1}},
	})
	if err != nil {
		return 0, fmt.Errorf("most devices of a customer: %w", mapErr(err))
	}
	var top []struct {
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &top); err != nil {
		return 0, fmt.Errorf("most devices of a customer: %w", mapErr(err))
	}
	if len(top) == 0 {
		return 0, nil
	}
	return top[0].N, nil
}
