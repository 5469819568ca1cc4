// Package mongo is the scale-out store on MongoDB (go.mongodb.org/mongo-driver/v2).
// It uses only what both MongoDB and FerretDB v1.24 (the test server) support:
// single-document writes, ordinary, unique and multikey indexes, and a capped
// collection for events. It uses no transactions, no TTL indexes, no $text.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/iotconsole/bff/internal/apperr"
)

// DefaultDatabase is used when the URI names no database.
const DefaultDatabase = "iotconsole"

// eventsCapBytes is the size of the capped events collection: at about 300
// bytes an event, the newest 200,000 or so events.
const eventsCapBytes = 64 << 20

// Store implements store.Store on MongoDB.
type Store struct {
	client    *mongo.Client
	domains   *mongo.Collection
	operators *mongo.Collection
	customers *mongo.Collection
	devices   *mongo.Collection
	sessions  *mongo.Collection
	audit     *mongo.Collection
	events    *mongo.Collection
	assists   *mongo.Collection
	// tailPositions remembers how far each instance read the events.
	tailPositions *mongo.Collection
	// meta holds facts about the store as a whole (see reindex.go).
	meta *mongo.Collection
	// vocabulary counts each domain's name tokens (see vocabulary.go).
	vocabulary *mongo.Collection
	// throttles holds the sign-in limiters' counters (see throttles.go).
	throttles *mongo.Collection
	// presence says which customers have an app or dashboard open on
	// which instance (see presence.go).
	presence *mongo.Collection
}

// commandMonitor, when set (by tests only), sees every command the stores
// opened afterwards send: indexes_test.go explains them.
var commandMonitor *event.CommandMonitor

// Open connects to uri, checks the server answers within the context's
// deadline (or 10 s, or the URI's serverSelectionTimeoutMS) and ensures collections and indexes exist. It returns an
// error if the URI is malformed or the server cannot be reached.
func Open(ctx context.Context, uri string) (*Store, error) {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("parse MONGODB_URI: %w", err)
	}
	dbName := cs.Database
	if dbName == "" {
		dbName = DefaultDatabase
	}
	// A request waits at most 2 s for a reachable server, then fails with
	// apperr.ErrUnavailable; the driver reconnects by itself when it is back.
	opts := options.Client().SetServerSelectionTimeout(2 * time.Second).SetTimeout(30 * time.Second).ApplyURI(uri)
	if commandMonitor != nil {
		opts.SetMonitor(commandMonitor)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", mapErr(err))
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("reach MongoDB at %s: %w", cs.Hosts, mapErr(err))
	}
	db := client.Database(dbName)
	s := &Store{
		client:    client,
		domains:   db.Collection("domains"),
		operators: db.Collection("operators"),
		customers: db.Collection("customers"),
		devices:   db.Collection("devices"),
		sessions:  db.Collection("sessions"),
		audit:     db.Collection("audit"),
		events:    db.Collection("events"),
		assists:   db.Collection("assists"),

		tailPositions: db.Collection("tailPositions"),
		meta:          db.Collection("meta"),
		vocabulary:    db.Collection("vocabulary"),
		throttles:     db.Collection("throttles"),
		presence:      db.Collection("presence"),
	}
	if err := s.ensureSchema(ctx, db); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.RelayOutboxes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.FinishErasures(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Store) ensureSchema(ctx context.Context, db *mongo.Database) error {
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: "events"}})
	if err != nil {
		return fmt.Errorf("list collections: %w", mapErr(err))
	}
	if len(names) == 0 {
		opts := options.CreateCollection().SetCapped(true).SetSizeInBytes(eventsCapBytes)
		if err := db.CreateCollection(ctx, "events", opts); err != nil {
			return fmt.Errorf("create capped events collection: %w", mapErr(err))
		}
	}
	if err := s.backfillDevices(ctx); err != nil { // before the unique index on serial numbers
		return err
	}
	if err := s.backfillSearchPrefixes(ctx); err != nil {
		return err
	}
	if err := s.dropObsoleteTokenIndex(ctx); err != nil {
		return err
	}
	unique := options.Index().SetUnique(true)
	indexes := []struct {
		coll  *mongo.Collection
		model mongo.IndexModel
	}{
		{s.domains, mongo.IndexModel{Keys: bson.D{{Key: "slug", Value: 1}}, Options: unique}},
		{s.operators, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "email", Value: 1}}, Options: unique}},
		{s.operators, mongo.IndexModel{Keys: bson.D{{Key: "setupTicketHash", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "email", Value: 1}}, Options: unique}},
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "externalId", Value: 1}},
			Options: options.Index().SetUnique(true).SetSparse(true)}}, // sparse: customers without one (no field) are not in it
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}}}},
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "status", Value: 1}, {Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}}}},
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "searchPrefixes", Value: 1}, {Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}},
			Options: options.Index().SetName(prefixIndexName)}},
		{s.customers, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "searchTokens", Value: 1}, {Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}},
			Options: options.Index().SetName(exactIndexName)}},
		{s.devices, mongo.IndexModel{Keys: bson.D{{Key: "customerId", Value: 1}, {Key: "name", Value: 1}, {Key: "_id", Value: 1}}}},
		{s.devices, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "serialNumber", Value: 1}}, Options: unique}},
		{s.sessions, mongo.IndexModel{Keys: bson.D{{Key: "subjectId", Value: 1}}}},
		{s.sessions, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}}},
		{s.audit, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "at", Value: -1}, {Key: "_id", Value: -1}}}},
		{s.events, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "_id", Value: -1}}}},
		{s.audit, mongo.IndexModel{Keys: bson.D{{Key: "assistId", Value: 1}, {Key: "at", Value: 1}}, Options: options.Index().SetSparse(true)}},
		{s.assists, mongo.IndexModel{Keys: bson.D{{Key: "ticketHash", Value: 1}}, Options: unique}},
		{s.assists, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "startedAt", Value: -1}, {Key: "_id", Value: -1}}}},
		{s.assists, mongo.IndexModel{Keys: bson.D{{Key: "customerId", Value: 1}, {Key: "startedAt", Value: -1}, {Key: "_id", Value: -1}}}},
		{s.assists, mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "operatorId", Value: 1}}}},
		{s.presence, mongo.IndexModel{Keys: bson.D{{Key: "customerId", Value: 1}, {Key: "until", Value: 1}}}},
		// The pending requests' sweep (assist.Store.PendingAssistRequests), soonest expiry first.
		{s.assists, mongo.IndexModel{Keys: bson.D{{Key: "request.state", Value: 1}, {Key: "request.expiresAt", Value: 1}}}},
		{s.vocabulary, mongo.IndexModel{Keys: bson.D{{Key: "domainId", Value: 1}, {Key: "length", Value: 1}}}},
	}
	for _, ix := range indexes {
		if _, err := ix.coll.Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("ensure index on %s: %w", ix.coll.Name(), mapErr(err))
		}
	}
	return nil
}

// Ping returns an error if the primary cannot be reached.
func (s *Store) Ping(ctx context.Context) error {
	return mapErr(s.client.Ping(ctx, nil))
}

// Close disconnects from the server.
func (s *Store) Close(ctx context.Context) error {
	return mapErr(s.client.Disconnect(ctx))
}

// errStale is what a conditional write (on a version, a state, an unused
// ticket) that changed no document hands to mapErr when its document may
// exist: the document no longer meets the condition. A write that changed no
// document because there is none hands mongo.ErrNoDocuments, as a read of a
// missing document does.
var errStale = errors.New("the document no longer meets the write's condition")

// mapErr is the one place this store decides what a driver's error means to
// its callers; every method passes every driver error through it. A missing
// document is apperr.ErrNotFound; a duplicate key and a stale conditional
// write are apperr.ErrConflict; a server that cannot be reached, that
// dropped the connection or that does not answer in time is
// apperr.ErrUnavailable (the API's UNAVAILABLE); anything else is returned
// as it is.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return apperr.ErrNotFound
	case errors.Is(err, errStale), mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %v", apperr.ErrConflict, err)
	case mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.As(err, &topology.ServerSelectionError{}) || poolCleared(err):
		return fmt.Errorf("%w: %v", apperr.ErrUnavailable, err)
	}
	return err
}

// poolCleared reports whether err is the driver's "connection pool was
// cleared" error: another operation's network error emptied the pool, and
// this operation failed with it (the error wraps nothing, and its type is
// unexported; it is the one driver.RetryablePoolError).
func poolCleared(err error) bool {
	var pce driver.RetryablePoolError
	return errors.As(err, &pce) && pce.Retryable()
}

// findByIDs returns the documents of coll whose _id is one of the distinct
// non-empty ids and that match the conditions also, in one find; an empty
// list reads nothing. It returns its errors through mapErr.
func findByIDs[D any](ctx context.Context, coll *mongo.Collection, ids []string, also ...bson.E) ([]D, error) {
	ids = distinctIDs(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	return findAll[D](ctx, coll, append(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, also...))
}

// distinctIDs returns ids without repeats and without the empty id, which
// is no object's.
func distinctIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// missed returns what a conditional write on document id of coll that
// changed nothing hands to mapErr: errStale if the document exists,
// mongo.ErrNoDocuments if not, or the error of finding out.
func missed(ctx context.Context, coll *mongo.Collection, id string) error {
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}}, options.Count().SetLimit(1))
	switch {
	case err != nil:
		return err
	case n == 0:
		return mongo.ErrNoDocuments
	}
	return errStale
}

// noneChanged returns ifNone (errStale or mongo.ErrNoDocuments, for mapErr)
// when a write matched no document.
func noneChanged(res *mongo.UpdateResult, ifNone error) error {
	if res.MatchedCount == 0 {
		return ifNone
	}
	return nil
}
