package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/faults"
	"github.com/iotconsole/bff/internal/sessions"
)

// Erasing a customer takes several writes, and MongoDB (FerretDB) has no
// transactions across them. The first decides: one single-document update,
// conditional on the customer's version, blanks every personal field of
// the customer's document, ends its sessions (the epoch), marks it
// erasedAt and puts the audit record and events in its outbox. From then on
// the document reads as gone (notErased in every read of customers). Then
// the records are relayed, and the customer's devices, sessions, data key
// and finally the document itself are deleted. Every step after the first
// can be repeated: what a crash or an outage leaves of an erasure is
// finished at start-up (FinishErasures), as outboxes are relayed.

// erasedAtKey marks a customer document whose erasure has begun.
const erasedAtKey = "erasedAt"

// notErased selects the customer documents whose erasure has not begun:
// every read of customers carries it.
var notErased = bson.E{Key: erasedAtKey, Value: bson.D{{Key: "$exists", Value: false}}}

// erasedEmail is the email of a customer document whose erasure has begun:
// unique per customer (the domain's unique index on emails stays
// satisfied), and no address anyone can sign in or sign up with.
func erasedEmail(id string) string { return "erased:" + id }

// DeleteCustomer implements customers.Eraser.
func (s *Store) DeleteCustomer(ctx context.Context, e customers.Erasure) error {
	items := outboxItems(e.Audit, e.Events)
	blank := bson.D{
		{Key: erasedAtKey, Value: e.At}, {Key: "updatedAt", Value: e.At},
		{Key: "firstName", Value: ""}, {Key: "lastName", Value: ""}, {Key: "email", Value: erasedEmail(e.ID)}, {Key: "phone", Value: ""},
		{Key: "passwordHash", Value: ""}, {Key: "searchTokens", Value: bson.A{}}, {Key: "searchPrefixes", Value: bson.A{}}, {Key: "lastKey", Value: ""}, {Key: "firstKey", Value: ""},
	}
	update := bson.D{
		{Key: "$set", Value: blank},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}, {Key: "sessionEpoch", Value: 1}}},
		{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}},
	}
	filter := bson.D{{Key: "_id", Value: e.ID}, {Key: "version", Value: e.Version}, notErased}
	// The names leave the vocabulary first, so that no crash can leave them
	// there once the document is blanked; a blanking that does not happen
	// counts them back.
	before, err := s.findCustomer(ctx, filter)
	if errors.Is(err, apperr.ErrNotFound) {
		err = missed(ctx, s.customers, e.ID) // none, or not at that version
	}
	if err != nil {
		return fmt.Errorf("delete customer %s: %w", e.ID, mapErr(err))
	}
	names := func(delta int) vocabularyChange {
		return vocabularyChange{}.with(before.DomainID, before.FirstName, before.LastName, delta)
	}
	if err := s.countVocabulary(ctx, names(-1)); err != nil {
		return fmt.Errorf("delete customer %s: %w", e.ID, err)
	}
	res, err := s.customers.UpdateOne(ctx, filter, update)
	if err == nil && res.MatchedCount == 0 {
		err = missed(ctx, s.customers, e.ID)
	}
	if err != nil {
		_ = s.countVocabulary(ctx, names(1))
		return fmt.Errorf("delete customer %s: %w", e.ID, mapErr(err))
	}
	faults.Crash(faults.AfterCustomerChange)
	if err := s.relay(ctx, s.customers, e.ID, items); err != nil {
		return fmt.Errorf("delete customer %s: %w", e.ID, err)
	}
	return s.finishErasure(ctx, e.ID)
}

// finishErasure deletes what remains of customer id, whose erasure has
// begun: its devices, sessions and data key, then its document.
func (s *Store) finishErasure(ctx context.Context, id string) error {
	var errs []error
	for _, del := range []struct {
		what   string
		delete func() error
	}{
		{"devices", func() error {
			_, err := s.devices.DeleteMany(ctx, bson.D{{Key: "customerId", Value: id}})
			return err
		}},
		{"sessions", func() error { // its own and its assistance's
			_, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "subjectId", Value: id}, {Key: "kind", Value: bson.D{{Key: "$ne", Value: sessions.KindOperator}}}})
			return err
		}},
		{"data key", func() error {
			_, err := s.customerKeys().DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
			return err
		}},
	} {
		if err := del.delete(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", del.what, mapErr(err)))
		}
	}
	if len(errs) == 0 { // the document goes last: it is the mark of an erasure to finish
		_, err := s.customers.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: erasedAtKey, Value: bson.D{{Key: "$exists", Value: true}}}})
		if err != nil {
			errs = append(errs, fmt.Errorf("document: %w", mapErr(err)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("erase customer %s: %w", id, err)
	}
	return nil
}

// FinishErasures finishes the erasures earlier processes began but did not
// finish (after their records were relayed: see RelayOutboxes).
func (s *Store) FinishErasures(ctx context.Context) error {
	cur, err := s.customers.Find(ctx, bson.D{{Key: erasedAtKey, Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		return fmt.Errorf("find unfinished erasures: %w", mapErr(err))
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("find unfinished erasures: %w", mapErr(err))
	}
	for _, d := range docs {
		if err := s.finishErasure(ctx, d.ID); err != nil {
			return err
		}
	}
	return nil
}
