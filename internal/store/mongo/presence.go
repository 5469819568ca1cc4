package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// presenceID is the document of customerID's connections on instance.
func presenceID(customerID, instance string) string { return customerID + "/" + instance }

// SetPresence implements assist.PresenceStore with one single-document
// upsert (or delete).
func (s *Store) SetPresence(ctx context.Context, customerID, instance string, until time.Time) error {
	id := bson.D{{Key: "_id", Value: presenceID(customerID, instance)}}
	var err error
	if until.IsZero() {
		_, err = s.presence.DeleteOne(ctx, id)
	} else {
		_, err = s.presence.UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "customerId", Value: customerID}, {Key: "until", Value: until}}}},
			options.UpdateOne().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("set presence: %w", mapErr(err))
	}
	return nil
}

// Present implements assist.PresenceStore.
func (s *Store) Present(ctx context.Context, customerID string, at time.Time) (bool, error) {
	n, err := s.presence.CountDocuments(ctx, bson.D{{Key: "customerId", Value: customerID}, {Key: "until", Value: bson.D{{Key: "$gt", Value: at}}}},
		options.Count().SetLimit(1))
	if err != nil {
		return false, fmt.Errorf("presence: %w", mapErr(err))
	}
	return n > 0, nil
}

// DeletePresenceBefore implements assist.PresenceStore.
func (s *Store) DeletePresenceBefore(ctx context.Context, at time.Time) error {
	if _, err := s.presence.DeleteMany(ctx, bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: at}}}}); err != nil {
		return fmt.Errorf("delete stale presence: %w", mapErr(err))
	}
	return nil
}
