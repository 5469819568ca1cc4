package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/iotconsole/bff/internal/throttle"
)

// The sign-in limiters' state (throttle.Store), one document per key in the
// "throttles" collection, shared by every instance on the database so that N
// instances do not multiply an attacker's budget by N. Times are Unix
// nanoseconds (int64), so that $inc and $max work on them; every write is a
// single-document atomic update ($inc, $max, $set), no transaction, no
// read-modify-write. Expired documents are deleted by the sessions' sweeper
// (DeleteExpiredThrottles); no TTL index (FerretDB has none).
type throttleDoc struct {
	Key   string `bson:"_id"`
	Count int64  `bson:"count"`
	Last  int64  `bson:"last"`  // Unix ns of the last failure counted
	Until int64  `bson:"until"` // Unix ns: back-off end, or a bucket's TAT
	Keep  int64  `bson:"keep"`  // Unix ns: kept at least until then
}

var _ throttle.Store = (*Store)(nil)

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ThrottleStates implements throttle.Store with one find.
func (s *Store) ThrottleStates(ctx context.Context, keys []string) ([]throttle.State, error) {
	out := make([]throttle.State, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cur, err := s.throttles.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}})
	if err != nil {
		return nil, fmt.Errorf("throttle states: %w", mapErr(err))
	}
	var docs []throttleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("throttle states: %w", mapErr(err))
	}
	for _, d := range docs {
		for i, k := range keys {
			if k == d.Key {
				out[i] = throttle.State{Count: d.Count, Last: fromNanos(d.Last), Until: fromNanos(d.Until)}
			}
		}
	}
	return out, nil
}

// ThrottleSwap implements throttle.Store with one atomic single-document
// write: an insert when old is the zero State (a duplicate key means another
// writer was first), a delete when next is, else an update; the filter is
// the whole old state.
func (s *Store) ThrottleSwap(ctx context.Context, key string, old, next throttle.State, keep time.Time) (bool, error) {
	if old == (throttle.State{}) {
		_, err := s.throttles.InsertOne(ctx, throttleDoc{Key: key, Count: next.Count, Last: nanos(next.Last), Until: nanos(next.Until), Keep: nanos(keep)})
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("throttle swap: %w", mapErr(err))
		}
		return true, nil
	}
	filter := bson.D{{Key: "_id", Value: key}, {Key: "count", Value: old.Count},
		{Key: "last", Value: nanos(old.Last)}, {Key: "until", Value: nanos(old.Until)}}
	if next == (throttle.State{}) { // back to no record
		res, err := s.throttles.DeleteOne(ctx, filter)
		if err != nil {
			return false, fmt.Errorf("throttle swap: %w", mapErr(err))
		}
		return res.DeletedCount == 1, nil
	}
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "count", Value: next.Count}, {Key: "last", Value: nanos(next.Last)}, {Key: "until", Value: nanos(next.Until)}}},
		{Key: "$max", Value: bson.D{{Key: "keep", Value: nanos(keep)}}},
	}
	res, err := s.throttles.UpdateOne(ctx, filter, update)
	if err != nil {
		return false, fmt.Errorf("throttle swap: %w", mapErr(err))
	}
	return res.MatchedCount == 1, nil
}

// ThrottleReset implements throttle.Store.
func (s *Store) ThrottleReset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.throttles.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}}); err != nil {
		return fmt.Errorf("throttle reset: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredThrottles implements throttle.Store; the sessions' sweeper
// calls it.
func (s *Store) DeleteExpiredThrottles(ctx context.Context, before time.Time) (int64, error) {
	b := nanos(before)
	res, err := s.throttles.DeleteMany(ctx, bson.D{
		{Key: "until", Value: bson.D{{Key: "$lt", Value: b}}},
		{Key: "keep", Value: bson.D{{Key: "$lt", Value: b}}},
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired throttles: %w", mapErr(err))
	}
	return res.DeletedCount, nil
}
