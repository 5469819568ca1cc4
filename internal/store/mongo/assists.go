package mongo

import (
	"cmp"
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
	// Mode is absent on a session stored before modes existed (CONTROL).
	Mode    assist.Mode `bson:"mode,omitempty"`
	Request requestDoc  `bson:"request"`
	Outbox  []outboxDoc `bson:"outbox,omitempty"`
}

// requestDoc is an assistance's latest request for the customer's
// agreement; absent (zero) when none was made.
type requestDoc struct {
	Mode       assist.Mode         `bson:"mode,omitempty"`
	State      assist.RequestState `bson:"state,omitempty"`
	At         time.Time           `bson:"at,omitempty"`
	ExpiresAt  time.Time           `bson:"expiresAt,omitempty"`
	AnsweredAt time.Time           `bson:"answeredAt,omitempty"`
}

func newRequestDoc(r assist.Request) requestDoc {
	return requestDoc{Mode: r.Mode, State: r.State, At: r.At, ExpiresAt: r.ExpiresAt, AnsweredAt: r.AnsweredAt}
}

func (r requestDoc) request() assist.Request {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC()
	}
	return assist.Request{Mode: r.Mode, State: r.State, At: utc(r.At), ExpiresAt: utc(r.ExpiresAt), AnsweredAt: utc(r.AnsweredAt)}
}

func (d assistDoc) session() assist.Session {
	return assist.Session{ID: d.ID, DomainID: d.DomainID, CustomerID: d.CustomerID, OperatorID: d.OperatorID, Reason: d.Reason,
		StartedAt: d.StartedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(), State: d.State, EndedAt: d.EndedAt.UTC(), EndedBy: d.EndedBy,
		TicketHash: d.TicketHash, TicketExpiresAt: d.TicketExpiresAt.UTC(), TicketUsed: d.TicketUsed, CustomerEpoch: d.CustomerEpoch, OperatorEpoch: d.OperatorEpoch,
		Mode: cmp.Or(d.Mode, assist.ModeControl), Request: d.Request.request()}
}

// CreateAssist implements assist.Store, with the records in the new document's outbox.
func (s *Store) CreateAssist(ctx context.Context, a assist.Session, rec audit.Record, evs []events.Event) error {
	items := outboxItems(rec, evs)
	doc := assistDoc{ID: a.ID, DomainID: a.DomainID, CustomerID: a.CustomerID, OperatorID: a.OperatorID, Reason: a.Reason,
		StartedAt: a.StartedAt, ExpiresAt: a.ExpiresAt, State: a.State, EndedAt: a.EndedAt, EndedBy: a.EndedBy,
		TicketHash: a.TicketHash, TicketExpiresAt: a.TicketExpiresAt, TicketUsed: a.TicketUsed, CustomerEpoch: a.CustomerEpoch, OperatorEpoch: a.OperatorEpoch,
		Mode: a.ModeNow(), Request: newRequestDoc(a.Request), Outbox: items}
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
	res, err := s.assists.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "state", Value: runningStates}}, update)
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

// runningStates selects the sessions that can still change: ACTIVE or PENDING.
var runningStates = bson.D{{Key: "$in", Value: bson.A{assist.StateActive, assist.StatePending}}}

// modeIs selects sessions of mode m: CONTROL also matches those stored
// before modes existed (no mode field).
func modeIs(m assist.Mode) bson.D {
	if m == assist.ModeControl {
		return bson.D{{Key: "$in", Value: bson.A{assist.ModeControl, nil}}}
	}
	return bson.D{{Key: "$eq", Value: m}}
}

// requestIs selects sessions whose request is in state st ("" for those
// that never had one: no request state).
func requestIs(st assist.RequestState) bson.D {
	if st == "" {
		return bson.D{{Key: "$in", Value: bson.A{"", nil}}}
	}
	return bson.D{{Key: "$eq", Value: st}}
}

// UpdateAssist implements assist.Store with a conditional single-document
// update carrying its records in the outbox.
func (s *Store) UpdateAssist(ctx context.Context, a, was assist.Session, rec audit.Record, evs []events.Event) error {
	items := outboxItems(rec, evs)
	update := bson.D{
		{Key: "$set", Value: bson.D{{Key: "state", Value: a.State}, {Key: "mode", Value: a.ModeNow()}, {Key: "expiresAt", Value: a.ExpiresAt},
			{Key: "endedAt", Value: a.EndedAt}, {Key: "endedBy", Value: a.EndedBy}, {Key: "request", Value: newRequestDoc(a.Request)}}},
		{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}},
	}
	filter := bson.D{{Key: "_id", Value: a.ID}, {Key: "state", Value: was.State}, {Key: "mode", Value: modeIs(was.ModeNow())},
		{Key: "request.state", Value: requestIs(was.Request.State)}}
	res, err := s.assists.UpdateOne(ctx, filter, update)
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err == nil {
		err = s.relay(ctx, s.assists, a.ID, items)
	}
	if err != nil {
		return fmt.Errorf("update assist %s: %w", a.ID, mapErr(err))
	}
	return nil
}

// SetAssistTicket implements assist.Store with a conditional single-document update.
func (s *Store) SetAssistTicket(ctx context.Context, id, ticketHash string, expiresAt time.Time) error {
	res, err := s.assists.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "ticketUsed", Value: false}, {Key: "state", Value: runningStates}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "ticketHash", Value: ticketHash}, {Key: "ticketExpiresAt", Value: expiresAt}}}})
	if err == nil {
		err = noneChanged(res, errStale)
	}
	if err != nil {
		return fmt.Errorf("set assist ticket %s: %w", id, mapErr(err))
	}
	return nil
}

// PendingAssistRequests implements assist.Store.
func (s *Store) PendingAssistRequests(ctx context.Context, by time.Time) ([]assist.Session, error) {
	filter := bson.D{{Key: "request.state", Value: assist.RequestPending},
		{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{assist.StatePending, assist.StateActive}}}}}
	if !by.IsZero() {
		filter = append(filter, bson.E{Key: "request.expiresAt", Value: bson.D{{Key: "$lte", Value: by}}})
	}
	return s.findAssists(ctx, filter, options.Find().SetSort(bson.D{{Key: "request.expiresAt", Value: 1}}))
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
	filter := bson.D{{Key: "state", Value: runningStates}}
	if f.DomainID != "" {
		filter = append(filter, bson.E{Key: "domainId", Value: f.DomainID})
	}
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
