package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// ThrottleCount implements throttle.Store: a conditional reset of a stale
// count, then one atomic $inc (an upsert).
func (s *Store) ThrottleCount(ctx context.Context, key string, at, since, keep time.Time) (int64, error) {
	stale := bson.D{{Key: "_id", Value: key}, {Key: "last", Value: bson.D{{Key: "$lt", Value: nanos(since)}}}}
	if _, err := s.throttles.UpdateOne(ctx, stale, bson.D{{Key: "$set", Value: bson.D{{Key: "count", Value: int64(0)}}}}); err != nil {
		return 0, fmt.Errorf("throttle count: %w", mapErr(err))
	}
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "count", Value: int64(1)}}},
		{Key: "$max", Value: bson.D{{Key: "last", Value: nanos(at)}, {Key: "keep", Value: nanos(keep)}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "until", Value: int64(0)}}},
	}
	var doc throttleDoc
	err := s.throttles.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}}, update,
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		return 0, fmt.Errorf("throttle count: %w", mapErr(err))
	}
	return doc.Count, nil
}

// ThrottleHold implements throttle.Store with one atomic $max.
func (s *Store) ThrottleHold(ctx context.Context, key string, until time.Time) error {
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "until", Value: nanos(until)}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "count", Value: int64(0)}, {Key: "last", Value: int64(0)}, {Key: "keep", Value: int64(0)}}}}
	if _, err := s.throttles.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, update, options.UpdateOne().SetUpsert(true)); err != nil {
		return fmt.Errorf("throttle hold: %w", mapErr(err))
	}
	return nil
}

// ThrottleAdvance implements throttle.Store: $max(until, now), then
// $inc(until, step), each atomic; instances racing on one key each add
// their step, none is lost (two $max of about the same now are one).
func (s *Store) ThrottleAdvance(ctx context.Context, key string, now time.Time, step time.Duration) (time.Time, error) {
	for range 3 {
		raise := bson.D{{Key: "$max", Value: bson.D{{Key: "until", Value: nanos(now)}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "count", Value: int64(0)}, {Key: "last", Value: int64(0)}, {Key: "keep", Value: int64(0)}}}}
		if _, err := s.throttles.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, raise, options.UpdateOne().SetUpsert(true)); err != nil {
			return time.Time{}, fmt.Errorf("throttle advance: %w", mapErr(err))
		}
		var doc throttleDoc
		err := s.throttles.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "until", Value: int64(step)}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // swept between the two updates: again
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("throttle advance: %w", mapErr(err))
		}
		return fromNanos(doc.Until), nil
	}
	return time.Time{}, fmt.Errorf("throttle advance %s: the record kept disappearing", key)
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
