package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/events"
	"github.com/iotconsole/bff/internal/sessions"
	"github.com/iotconsole/bff/internal/store"
)

type sessionDoc struct {
	TokenHash    string         `bson:"_id"`
	Kind         sessions.Kind  `bson:"kind"`
	DomainID     string         `bson:"domainId"`
	SubjectID    string         `bson:"subjectId"`
	ActorID      string         `bson:"actorId"`
	CreatedAt    time.Time      `bson:"createdAt"`
	ExpiresAt    time.Time      `bson:"expiresAt"`
	RevokedAt    time.Time      `bson:"revokedAt"`
	RevokeReason string         `bson:"revokeReason"`
	Epoch        int64          `bson:"epoch"`
	Scope        sessions.Scope `bson:"scope"`
	AssistID     string         `bson:"assistId,omitempty"`
}

// CreateSession implements sessions.Store.
func (s *Store) CreateSession(ctx context.Context, sess sessions.Session) error {
	if _, err := s.sessions.InsertOne(ctx, sessionDoc(sess)); err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// SessionByHash implements sessions.Store.
func (s *Store) SessionByHash(ctx context.Context, tokenHash string) (sessions.Session, error) {
	var doc sessionDoc
	if err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: tokenHash}}).Decode(&doc); err != nil {
		return sessions.Session{}, fmt.Errorf("session: %w", mapErr(err))
	}
	doc.CreatedAt, doc.ExpiresAt = doc.CreatedAt.UTC(), doc.ExpiresAt.UTC()
	if !doc.RevokedAt.IsZero() {
		doc.RevokedAt = doc.RevokedAt.UTC()
	}
	return sessions.Session(doc), nil
}

// SessionAndOperator implements sessions.Store: the session, then, for an
// operator's, its operator (two reads; a $lookup would be one round trip,
// which FerretDB, the test server, does not run).
func (s *Store) SessionAndOperator(ctx context.Context, tokenHash string) (sessions.Session, sessions.OperatorStanding, error) {
	sess, err := s.SessionByHash(ctx, tokenHash)
	if err != nil || sess.Kind != sessions.KindOperator {
		return sess, sessions.OperatorStanding{}, err
	}
	op, err := s.OperatorByID(ctx, sess.SubjectID)
	if errors.Is(err, apperr.ErrNotFound) {
		return sess, sessions.OperatorStanding{}, nil
	}
	if err != nil {
		return sessions.Session{}, sessions.OperatorStanding{}, err
	}
	d, err := s.DomainByID(ctx, op.DomainID)
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return sessions.Session{}, sessions.OperatorStanding{}, err
	}
	return sess, sessions.StandingOf(op, d.RequireOperatorMFA), nil
}

// OperatorSignedInUntil implements sessions.Store.
func (s *Store) OperatorSignedInUntil(ctx context.Context, operatorID string, since, now time.Time) (time.Time, error) {
	filter := bson.D{{Key: "subjectId", Value: operatorID}, {Key: "kind", Value: sessions.KindOperator},
		{Key: "scope", Value: bson.D{{Key: "$nin", Value: bson.A{sessions.ScopeDevice, sessions.ScopeMFAChallenge}}}},
		{Key: "revokedAt", Value: time.Time{}}, {Key: "createdAt", Value: bson.D{{Key: "$lte", Value: since}}},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: now}}}}
	var doc sessionDoc
	err := s.sessions.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "expiresAt", Value: -1}})).Decode(&doc)
	if errors.Is(mapErr(err), apperr.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("operator's sessions: %w", mapErr(err))
	}
	return doc.ExpiresAt.UTC(), nil
}

// RevokeSession implements sessions.Store.
func (s *Store) RevokeSession(ctx context.Context, tokenHash, reason string, at time.Time) error {
	filter := bson.D{{Key: "_id", Value: tokenHash}, {Key: "revokedAt", Value: time.Time{}}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}, {Key: "revokeReason", Value: reason}}}}
	if _, err := s.sessions.UpdateOne(ctx, filter, update); err != nil {
		return fmt.Errorf("revoke session: %w", mapErr(err))
	}
	return nil
}

// DeleteExpiredSessions implements sessions.Store; it is the sweeper that
// stands in for a TTL index, which FerretDB lacks.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", mapErr(err))
	}
	return res.DeletedCount, nil
}

type auditDoc struct {
	ID         string    `bson:"_id"`
	DomainID   string    `bson:"domainId"`
	At         time.Time `bson:"at"`
	ActorType  string    `bson:"actorType"`
	ActorID    string    `bson:"actorId"`
	ActingFor  string    `bson:"actingFor"`
	Action     string    `bson:"action"`
	TargetType string    `bson:"targetType"`
	TargetID   string    `bson:"targetId"`
	Reason     string    `bson:"reason"`
	RequestID  string    `bson:"requestId"`
	Outcome    string    `bson:"outcome"`
	AssistID   string    `bson:"assistId,omitempty"`
	Details    string    `bson:"details,omitempty"` // sealed, see internal/shred
}

// AppendAudit implements audit.Store.
func (s *Store) AppendAudit(ctx context.Context, r audit.Record) error {
	if _, err := s.audit.InsertOne(ctx, auditDoc(r)); err != nil {
		return fmt.Errorf("append audit: %w", mapErr(err))
	}
	return nil
}

// FindAudit implements audit.Store.
func (s *Store) FindAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	and := bson.A{bson.D{{Key: "domainId", Value: q.DomainID}}}
	if q.CustomerID != "" {
		and = append(and, auditFilterBSON(store.AboutCustomer(q.CustomerID)))
	}
	if q.ActorID != "" {
		and = append(and, bson.D{{Key: "actorId", Value: q.ActorID}})
	}
	if q.Action != "" {
		and = append(and, bson.D{{Key: "action", Value: q.Action}})
	}
	if !q.Since.IsZero() {
		and = append(and, bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: q.Since}}}})
	}
	if !q.Until.IsZero() {
		and = append(and, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: q.Until}}}})
	}
	if b := q.Before; b != nil {
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: b.At}}}},
			bson.D{{Key: "at", Value: b.At}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: b.ID}}}},
		}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Limit))
	return s.findAudit(ctx, bson.D{{Key: "$and", Value: and}}, opts)
}

// auditFilterBSON returns f as a filter on the audit collection.
func auditFilterBSON(f store.AuditFilter) bson.D {
	anyOf := bson.A{}
	for _, clause := range f {
		allOf := bson.D{}
		for _, eq := range clause {
			allOf = append(allOf, bson.E{Key: auditKey(eq.Field), Value: eq.Value})
		}
		anyOf = append(anyOf, allOf)
	}
	return bson.D{{Key: "$or", Value: anyOf}}
}

// auditKey returns the key of an audit field in auditDoc. It panics for a
// field this store does not know, which the contract suite would show first.
func auditKey(f store.AuditField) string {
	switch f {
	case store.AuditTargetType:
		return "targetType"
	case store.AuditTargetID:
		return "targetId"
	case store.AuditActingFor:
		return "actingFor"
	case store.AuditActorType:
		return "actorType"
	case store.AuditActorID:
		return "actorId"
	}
	panic(fmt.Sprintf("mongo: no key for audit field %d", f))
}

// AuditRecordsOfAssists implements assist.Store.
func (s *Store) AuditRecordsOfAssists(ctx context.Context, ids []string) (map[string][]audit.Record, error) {
	out := map[string][]audit.Record{}
	ids = distinctIDs(ids)
	if len(ids) == 0 {
		return out, nil
	}
	opts := options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}})
	records, err := s.findAudit(ctx, bson.D{{Key: "assistId", Value: bson.D{{Key: "$in", Value: ids}}}}, opts)
	if err != nil {
		return nil, fmt.Errorf("records of %d assists: %w", len(ids), err)
	}
	for _, r := range records {
		out[r.AssistID] = append(out[r.AssistID], r)
	}
	return out, nil
}

func (s *Store) findAudit(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]audit.Record, error) {
	cur, err := s.audit.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("audit records: %w", mapErr(err))
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("audit records: %w", mapErr(err))
	}
	out := make([]audit.Record, len(docs))
	for i, d := range docs {
		d.At = d.At.UTC()
		out[i] = audit.Record(d)
	}
	return out, nil
}

type eventDoc struct {
	ID         string            `bson:"_id"`
	DomainID   string            `bson:"domainId"`
	Type       events.Type       `bson:"type"`
	CustomerID string            `bson:"customerId"`
	ActorID    string            `bson:"actorId"`
	Data       map[string]string `bson:"data"`
	OccurredAt time.Time         `bson:"occurredAt"`
}

func newEventDoc(e events.Event) eventDoc {
	return eventDoc{ID: e.ID, DomainID: e.DomainID, Type: e.Type, CustomerID: e.CustomerID, ActorID: e.ActorID, Data: e.Data, OccurredAt: e.OccurredAt}
}

func (d eventDoc) event() events.Event {
	return events.Event{ID: d.ID, DomainID: d.DomainID, Type: d.Type, CustomerID: d.CustomerID, ActorID: d.ActorID, Data: d.Data, OccurredAt: d.OccurredAt.UTC()}
}

// AppendEvent implements events.Store.
func (s *Store) AppendEvent(ctx context.Context, e events.Event) error {
	if _, err := s.events.InsertOne(ctx, newEventDoc(e)); err != nil {
		return fmt.Errorf("append event: %w", mapErr(err))
	}
	return nil
}

// RecentEvents returns the newest limit events of a domain, newest first.
// No service reads events back (they reach services through TailEvents):
// tests read what a change wrote with it (storetest.RecentEvents).
func (s *Store) RecentEvents(ctx context.Context, domainID string, limit int) ([]events.Event, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit))
	cur, err := s.events.Find(ctx, bson.D{{Key: "domainId", Value: domainID}}, opts)
	if err != nil {
		return nil, fmt.Errorf("recent events: %w", mapErr(err))
	}
	var docs []eventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("recent events: %w", mapErr(err))
	}
	out := make([]events.Event, len(docs))
	for i, d := range docs {
		out[i] = d.event()
	}
	return out, nil
}

// TailEvents implements events.Store with a tailable-await cursor on the
// capped events collection, which MongoDB and FerretDB both support. When the
// cursor dies (no match yet, a lost connection, its position overwritten) it
// is opened again from the last event seen; if the capped collection has
// meanwhile dropped events newer than that, handle gets an events.TailGap
// event first, so that what depends on the stream can start over.
//
// Positions are "<milliseconds>:<event id>": events can share a millisecond,
// so the ids already seen at that millisecond are skipped on reopening.
func (s *Store) TailEvents(ctx context.Context, after string, handle func(events.Event)) error {
	since := time.Now().UTC().Truncate(time.Millisecond)
	seen := map[string]bool{} // ids already handled at time `since`
	if ms, id, ok := strings.Cut(after, ":"); ok {
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			since, seen = time.UnixMilli(n).UTC(), map[string]bool{id: true}
		}
	}
	opts := options.Find().SetCursorType(options.TailableAwait).SetMaxAwaitTime(200 * time.Millisecond)
	for ctx.Err() == nil {
		if len(seen) > 0 {
			if lost, err := s.eventsLostSince(ctx, since); err == nil && lost {
				handle(events.Event{Type: events.TailGap, OccurredAt: time.Now().UTC()})
			}
		}
		cur, err := s.events.Find(ctx, bson.D{{Key: "occurredAt", Value: bson.D{{Key: "$gte", Value: since}}}}, opts)
		if err == nil {
			for cur.Next(ctx) {
				var d eventDoc
				if err := cur.Decode(&d); err != nil {
					continue
				}
				d.OccurredAt = d.OccurredAt.UTC()
				if seen[d.ID] {
					continue
				}
				if d.OccurredAt.After(since) {
					since, seen = d.OccurredAt, map[string]bool{}
				}
				seen[d.ID] = true
				e := events.Event{ID: d.ID, DomainID: d.DomainID, Type: d.Type, CustomerID: d.CustomerID, ActorID: d.ActorID,
					Data: d.Data, OccurredAt: d.OccurredAt, Position: fmt.Sprintf("%d:%s", d.OccurredAt.UnixMilli(), d.ID)}
				handle(e)
			}
			_ = cur.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return ctx.Err()
}

// eventsLostSince reports whether the capped collection no longer holds the
// event at time since: its oldest event is newer, so events between were
// overwritten before this process read them.
func (s *Store) eventsLostSince(ctx context.Context, since time.Time) (bool, error) {
	var oldest eventDoc
	opts := options.FindOne().SetSort(bson.D{{Key: "occurredAt", Value: 1}})
	if err := s.events.FindOne(ctx, bson.D{}, opts).Decode(&oldest); err != nil {
		return false, mapErr(err)
	}
	return oldest.OccurredAt.After(since), nil
}

// SaveTailPosition implements events.Store.
func (s *Store) SaveTailPosition(ctx context.Context, instance, position string) error {
	_, err := s.tailPositions.UpdateOne(ctx, bson.D{{Key: "_id", Value: instance}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "position", Value: position}, {Key: "updatedAt", Value: time.Now().UTC()}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save tail position: %w", mapErr(err))
	}
	return nil
}

// TailPosition implements events.Store.
func (s *Store) TailPosition(ctx context.Context, instance string) (string, error) {
	var doc struct {
		Position string `bson:"position"`
	}
	err := mapErr(s.tailPositions.FindOne(ctx, bson.D{{Key: "_id", Value: instance}}).Decode(&doc))
	if errors.Is(err, apperr.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tail position: %w", err)
	}
	return doc.Position, nil
}
