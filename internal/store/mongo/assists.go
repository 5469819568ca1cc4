package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/assist"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
)

type assistDoc struct {
	ID              string       `bson:"_id"`
	DomainID        string       `bson:"domainId"`
	CustomerID      string       `bson:"customerId"`
	OperatorID      string       `bson:"operatorId"`
	Reason          string       `bson:"reason"`
	StartedAt       time.Time    `bson:"startedAt"`
	ExpiresAt       time.Time    `bson:"expiresAt"`
	State           assist.State `bson:"state"`
	EndedAt         time.Time    `bson:"endedAt"`
	EndedBy         string       `bson:"endedBy"`
	TicketHash      string       `bson:"ticketHash"`
	TicketExpiresAt time.Time    `bson:"ticketExpiresAt"`
	TicketUsed      bool         `bson:"ticketUsed"`
	CustomerEpoch   int64        `bson:"customerEpoch"`
	OperatorEpoch   int64        `bson:"operatorEpoch"`
	Outbox          []outboxDoc  `bson:"outbox,omitempty"`
}

func (d assistDoc) session() assist.Session {
	return assist.Session{ID: d.ID, DomainID: d.DomainID, CustomerID: d.CustomerID, OperatorID: d.OperatorID, Reason: d.Reason,
		StartedAt: d.StartedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(), State: d.State, EndedAt: d.EndedAt.UTC(), EndedBy: d.EndedBy,
		TicketHash: d.TicketHash, TicketExpiresAt: d.TicketExpiresAt.UTC(), TicketUsed: d.TicketUsed, CustomerEpoch: d.CustomerEpoch, OperatorEpoch: d.OperatorEpoch}
}

// CreateAssist implements assist.Store, with the records in the new document's outbox.
func (s *Store) CreateAssist(ctx context.Context, a assist.Session, rec audit.Record, evs []events.Event) error {
	items := outboxItems(rec, evs)
	doc := assistDoc{ID: a.ID, DomainID: a.DomainID, CustomerID: a.CustomerID, OperatorID: a.OperatorID, Reason: a.Reason,
		StartedAt: a.StartedAt, ExpiresAt: a.ExpiresAt, State: a.State, EndedAt: a.EndedAt, EndedBy: a.EndedBy,
		TicketHash: a.TicketHash, TicketExpiresAt: a.TicketExpiresAt, TicketUsed: a.TicketUsed, CustomerEpoch: a.CustomerEpoch, OperatorEpoch: a.OperatorEpoch, Outbox: items}
	_, err := s.assists.InsertOne(ctx, doc)
	if err == nil {
		err = s.relay(ctx, s.assists, a.ID, items)
	}
	if err != nil {
		return fmt.Errorf("create assist: %w", mapErr(err))
	}
	return nil
}

// AssistByID implements assist.Store.
func (s *Store) AssistByID(ctx context.Context, id string) (assist.Session, error) {
	return s.findAssist(ctx, bson.D{{Key: "_id", Value: id}})
}

// AssistsByIDs implements assist.Store.
func (s *Store) AssistsByIDs(ctx context.Context, ids []string) ([]assist.Session, error) {
	docs, err := findByIDs[assistDoc](ctx, s.assists, ids)
	if err != nil {
		return nil, fmt.Errorf("assists by id: %w", err)
	}
	out := make([]assist.Session, len(docs))
	for i, doc := range docs {
		out[i] = doc.session()
	}
	return out, nil
}

// AssistByTicket implements assist.Store.
func (s *Store) AssistByTicket(ctx context.Context, ticketHash string) (assist.Session, error) {
	return s.findAssist(ctx, bson.D{{Key: "ticketHash", Value: ticketHash}})
}

func (s *Store) findAssist(ctx context.Context, filter bson.D) (assist.Session, error) {
	var doc assistDoc
	if err := s.assists.FindOne(ctx, filter).Decode(&doc); err != nil {
		return assist.Session{}, fmt.Errorf("assist: %w", mapErr(err))
	}
	return doc.session(), nil
}

// UseTicket implements assist.Store with a conditional single-document update.
func (s *Store) UseTicket(ctx context.Context, id string) error {
	res, err := s.assists.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "ticketUsed", Value: false}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "ticketUsed", Value: true}}}})
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err != nil {
		return fmt.Errorf("use ticket: %w", mapErr(err))
	}
	return nil
}

// EndAssist implements assist.Store.
func (s *Store) EndAssist(ctx context.Context, id string, state assist.State, endedBy string, at time.Time, rec audit.Record, evs []events.Event) error {
	items := outboxItems(rec, evs)
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "state", Value: state}, {Key: "endedAt", Value: at}, {Key: "endedBy", Value: endedBy}}},
		{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}},
	}
	res, err := s.assists.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "state", Value: assist.StateActive}}, update)
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err == nil {
		err = s.relay(ctx, s.assists, id, items)
	}
	if err != nil {
		return fmt.Errorf("end assist %s: %w", id, mapErr(err))
	}
	return nil
}

// AssistSessions implements assist.Store.
func (s *Store) AssistSessions(ctx context.Context, q assist.Query) ([]assist.Session, error) {
	and := bson.A{bson.D{{Key: "domainId", Value: q.DomainID}}}
	if q.CustomerID != "" {
		and = append(and, bson.D{{Key: "customerId", Value: q.CustomerID}})
	}
	if q.State != "" {
		and = append(and, bson.D{{Key: "state", Value: q.State}})
	}
	if b := q.Before; b != nil {
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "startedAt", Value: bson.D{{Key: "$lt", Value: b.StartedAt}}}},
			bson.D{{Key: "startedAt", Value: b.StartedAt}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: b.ID}}}},
		}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "startedAt", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Limit))
	return s.findAssists(ctx, bson.D{{Key: "$and", Value: and}}, opts)
}

// ActiveAssists implements assist.Store.
func (s *Store) ActiveAssists(ctx context.Context, f assist.ActiveFilter) ([]assist.Session, error) {
	filter := bson.D{{Key: "state", Value: assist.StateActive}}
	if f.OperatorID != "" {
		filter = append(filter, bson.E{Key: "operatorId", Value: f.OperatorID})
	}
	if f.CustomerID != "" {
		filter = append(filter, bson.E{Key: "customerId", Value: f.CustomerID})
	}
	if f.EpochBefore > 0 {
		filter = append(filter, bson.E{Key: "customerEpoch", Value: bson.D{{Key: "$lt", Value: f.EpochBefore}}})
	}
	if f.OperatorEpochBefore > 0 {
		filter = append(filter, bson.E{Key: "operatorEpoch", Value: bson.D{{Key: "$lt", Value: f.OperatorEpochBefore}}})
	}
	if !f.ExpiredAfter.IsZero() {
		filter = append(filter, bson.E{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: f.ExpiredAfter}}})
	}
	return s.findAssists(ctx, filter, options.Find().SetSort(bson.D{{Key: "startedAt", Value: 1}}))
}

func (s *Store) findAssists(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]assist.Session, error) {
	cur, err := s.assists.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("assists: %w", mapErr(err))
	}
	var docs []assistDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("assists: %w", mapErr(err))
	}
	out := make([]assist.Session, len(docs))
	for i, d := range docs {
		out[i] = d.session()
	}
	return out, nil
}
