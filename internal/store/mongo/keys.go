package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/shred"
)

// customerKeyDoc is a customer's data key (see internal/shred), in the
// customerKeys collection: one document per customer, keyed by its id.
type customerKeyDoc struct {
	CustomerID string    `bson:"_id"`
	Key        []byte    `bson:"key"`
	CreatedAt  time.Time `bson:"createdAt"`
}

// customerKeys is the collection of data keys. It needs no index but _id's.
func (s *Store) customerKeys() *mongo.Collection {
	return s.customers.Database().Collection("customerKeys")
}

// CustomerKey implements customers.KeyStore: an insert, which the unique _id
// refuses if another got there first, then a read of the key kept.
func (s *Store) CustomerKey(ctx context.Context, customerID string) ([]byte, error) {
	coll := s.customerKeys()
	_, err := coll.InsertOne(ctx, customerKeyDoc{CustomerID: customerID, Key: shred.NewKey(), CreatedAt: time.Now()})
	if err := mapErr(err); err != nil && !errors.Is(err, apperr.ErrConflict) {
		return nil, fmt.Errorf("data key of customer %s: %w", customerID, err)
	}
	var doc customerKeyDoc
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: customerID}}).Decode(&doc); err != nil {
		return nil, fmt.Errorf("data key of customer %s: %w", customerID, mapErr(err))
	}
	return doc.Key, nil
}

// CustomerKeys implements customers.KeyStore.
func (s *Store) CustomerKeys(ctx context.Context, customerIDs []string) (map[string][]byte, error) {
	docs, err := findByIDs[customerKeyDoc](ctx, s.customerKeys(), customerIDs)
	if err != nil {
		return nil, fmt.Errorf("data keys of %d customers: %w", len(customerIDs), err)
	}
	keys := make(map[string][]byte, len(docs))
	for _, d := range docs {
		keys[d.CustomerID] = d.Key
	}
	return keys, nil
}

// DeleteCustomerKey implements customers.KeyStore.
func (s *Store) DeleteCustomerKey(ctx context.Context, customerID string) error {
	if _, err := s.customerKeys().DeleteOne(ctx, bson.D{{Key: "_id", Value: customerID}}); err != nil {
		return fmt.Errorf("delete data key of customer %s: %w", customerID, mapErr(err))
	}
	return nil
}
