package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
)

// The outbox: MongoDB (and FerretDB) cannot write a state change and its
// audit record and events atomically across collections without
// transactions, so they travel inside the changed document, in the same
// single-document update, and are then copied to their collections under
// their own ids (a copy that already exists is the same record) and removed
// from the document. What a crash leaves in an outbox is relayed at start-up.

type outboxDoc struct {
	ID    string    `bson:"id"`
	Audit *auditDoc `bson:"audit,omitempty"`
	Event *eventDoc `bson:"event,omitempty"`
}

func outboxItems(r audit.Record, evs []events.Event) []outboxDoc {
	items := make([]outboxDoc, 0, 1+len(evs)) // never nil: $push's $each takes an array, not null
	if r.ID != "" {
		rec := auditDoc(r)
		items = append(items, outboxDoc{ID: r.ID, Audit: &rec})
	}
	for _, e := range evs {
		ev := newEventDoc(e)
		items = append(items, outboxDoc{ID: e.ID, Event: &ev})
	}
	return items
}

// relay copies items to the audit and events collections and takes them out
// of the outbox of document id in coll.
func (s *Store) relay(ctx context.Context, coll *mongo.Collection, id string, items []outboxDoc) error {
	for _, it := range items {
		var err error
		switch {
		case it.Audit != nil:
			_, err = s.audit.InsertOne(ctx, it.Audit)
		case it.Event != nil:
			_, err = s.events.InsertOne(ctx, it.Event)
		}
		// A copy that already exists (a conflict) is this record, relayed
		// before: the relay goes on.
		if err := mapErr(err); err != nil && !errors.Is(err, apperr.ErrConflict) {
			return fmt.Errorf("relay %s: %w", it.ID, err)
		}
		pull := bson.D{{Key: "$pull", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "id", Value: it.ID}}}}}}
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, pull); err != nil {
			return fmt.Errorf("relay %s: %w", it.ID, mapErr(err))
		}
	}
	return nil
}

// RelayOutboxes relays whatever earlier processes left in outboxes.
func (s *Store) RelayOutboxes(ctx context.Context) error {
	for _, coll := range []*mongo.Collection{s.customers, s.devices, s.assists, s.operators, s.domains} {
		cur, err := coll.Find(ctx, bson.D{{Key: "outbox.0", Value: bson.D{{Key: "$exists", Value: true}}}})
		if err != nil {
			return fmt.Errorf("find outboxes: %w", mapErr(err))
		}
		var docs []struct {
			ID     string      `bson:"_id"`
			Outbox []outboxDoc `bson:"outbox"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return fmt.Errorf("find outboxes: %w", mapErr(err))
		}
		for _, d := range docs {
			if err := s.relay(ctx, coll, d.ID, d.Outbox); err != nil {
				return err
			}
		}
	}
	return nil
}
