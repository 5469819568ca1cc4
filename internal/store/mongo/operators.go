package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/operators"
)

// FindOperators implements operators.Store.
func (s *Store) FindOperators(ctx context.Context, q operators.Query) ([]operators.Operator, error) {
	filter := bson.D{{Key: "domainId", Value: q.DomainID}, {Key: "email", Value: bson.D{{Key: "$gt", Value: q.AfterEmail}}}}
	if q.Text != "" {
		pattern := regexp.QuoteMeta(q.Text)
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: bson.D{{Key: "$regex", Value: pattern}, {Key: "$options", Value: "i"}}}},
			bson.D{{Key: "email", Value: bson.D{{Key: "$regex", Value: pattern}}}},
		}})
	}
	if q.Role != "" {
		filter = append(filter, bson.E{Key: "role", Value: q.Role})
	}
	if q.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: q.Status})
	}
	docs, err := findAll[operatorDoc](ctx, s.operators, filter, options.Find().SetSort(bson.D{{Key: "email", Value: 1}}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, fmt.Errorf("find operators: %w", err)
	}
	out := make([]operators.Operator, len(docs))
	for i, d := range docs {
		out[i] = d.operator()
	}
	return out, nil
}

// OperatorBySetupTicket implements operators.Store.
func (s *Store) OperatorBySetupTicket(ctx context.Context, ticketHash string) (operators.Operator, error) {
	if ticketHash == "" {
		return operators.Operator{}, fmt.Errorf("operator: %w", mapErr(mongo.ErrNoDocuments))
	}
	return s.findOperator(ctx, bson.D{{Key: "setupTicketHash", Value: ticketHash}})
}

// CountOperators implements operators.Store.
func (s *Store) CountOperators(ctx context.Context, domainID string, role operators.Role, status operators.Status) (int64, error) {
	n, err := s.operators.CountDocuments(ctx, bson.D{{Key: "domainId", Value: domainID}, {Key: "role", Value: role}, {Key: "status", Value: status}})
	if err != nil {
		return 0, fmt.Errorf("count operators: %w", mapErr(err))
	}
	return n, nil
}

// UpdateOperator implements operators.Store: the change and its audit
// record and events are one single-document update (the records travel in
// the operator's outbox, see outbox.go); for u.KeepAnAdmin, written while
// it holds the domain's roster (holdRoster).
func (s *Store) UpdateOperator(ctx context.Context, u operators.Update) (operators.Operator, error) {
	set, unset := bson.D{{Key: "updatedAt", Value: u.At}}, bson.D{}
	add := func(key string, value any) { set = append(set, bson.E{Key: key, Value: value}) }
	if u.Name != nil {
		add("name", *u.Name)
	}
	if u.Role != nil {
		add("role", *u.Role)
	}
	if u.Status != nil {
		add("status", *u.Status)
	}
	if u.PasswordHash != nil {
		add("passwordHash", *u.PasswordHash)
	}
	if u.SetupTicketHash != nil {
		if *u.SetupTicketHash == "" {
			unset = append(unset, bson.E{Key: "setupTicketHash", Value: ""}, bson.E{Key: "setupExpiresAt", Value: ""})
		} else {
			add("setupTicketHash", *u.SetupTicketHash)
		}
	}
	if u.SetupExpiresAt != nil && !u.SetupExpiresAt.IsZero() {
		add("setupExpiresAt", *u.SetupExpiresAt)
	}
	for _, f := range []struct {
		key   string
		value *string
	}{{"totpSecret", u.TOTPSecret}, {"totpPendingSecret", u.TOTPPendingSecret}} {
		if f.value != nil && *f.value == "" {
			unset = append(unset, bson.E{Key: f.key, Value: ""})
		} else if f.value != nil {
			add(f.key, *f.value)
		}
	}
	if u.TOTPLastStep != nil {
		add("totpLastStep", *u.TOTPLastStep)
	}
	if u.RecoveryCodeHashes != nil {
		add("recoveryCodeHashes", *u.RecoveryCodeHashes)
	}
	inc := bson.D{{Key: "version", Value: 1}}
	if u.EndSessions {
		inc = append(inc, bson.E{Key: "sessionEpoch", Value: 1})
	}
	update := bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: inc}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	items := outboxItems(u.Audit, u.Events)
	if len(items) > 0 {
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "outbox", Value: bson.D{{Key: "$each", Value: items}}}}})
	}
	if u.KeepAnAdmin {
		release, err := s.holdRoster(ctx, u.ID)
		if err != nil {
			return operators.Operator{}, fmt.Errorf("update operator %s: %w", u.ID, err)
		}
		defer release()
	}
	filter := bson.D{{Key: "_id", Value: u.ID}, {Key: "version", Value: u.Version}}
	if u.Version == 0 { // stored before operators had a version: the field is absent
		filter = bson.D{{Key: "_id", Value: u.ID}, {Key: "version", Value: bson.D{{Key: "$in", Value: bson.A{0, nil}}}}}
	}
	var doc operatorDoc
	err := s.operators.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = missed(ctx, s.operators, u.ID)
	}
	if err != nil {
		return operators.Operator{}, fmt.Errorf("update operator %s: %w", u.ID, mapErr(err))
	}
	if err := s.relay(ctx, s.operators, u.ID, items); err != nil {
		return operators.Operator{}, fmt.Errorf("update operator %s: %w", u.ID, err)
	}
	return doc.operator(), nil
}

// rosterLease is how long a change that takes an ADMIN's powers away holds
// its domain's roster at most (holdRoster): an instance that stops while
// holding it keeps the domain's other such changes waiting that long.
const rosterLease = 10 * time.Second

// holdRoster takes the roster of operator id's domain for one change with
// Update.KeepAnAdmin, and returns ErrLastAdmin when the domain has no other
// active ADMIN. MongoDB writes one document atomically and this store uses
// no transactions, so two such changes (two ADMINs disabling each other)
// could each count the other still active and both be written: the roster
// is a lease on the domain's document (a token and an expiry, taken only
// when absent or expired), so such changes of one domain are decided one at
// a time. A change that finds it held answers apperr.ErrConflict (try
// again). The returned function gives the lease back.
func (s *Store) holdRoster(ctx context.Context, id string) (func(), error) {
	var op struct {
		DomainID string `bson:"domainId"`
	}
	err := s.operators.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "domainId", Value: 1}})).Decode(&op)
	if err != nil {
		return nil, mapErr(err)
	}
	token, now := ids.New(), time.Now()
	free := bson.A{bson.D{{Key: "rosterLease", Value: bson.D{{Key: "$exists", Value: false}}}}, bson.D{{Key: "rosterLease.until", Value: bson.D{{Key: "$lt", Value: now}}}}}
	res, err := s.domains.UpdateOne(ctx, bson.D{{Key: "_id", Value: op.DomainID}, {Key: "$or", Value: free}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "rosterLease", Value: bson.D{{Key: "token", Value: token}, {Key: "until", Value: now.Add(rosterLease)}}}}}})
	if err != nil {
		return nil, mapErr(err)
	}
	if res.MatchedCount == 0 {
		return nil, fmt.Errorf("%w: the domain's roster is being changed", apperr.ErrConflict)
	}
	release := func() {
		_, _ = s.domains.UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: op.DomainID}, {Key: "rosterLease.token", Value: token}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "rosterLease", Value: ""}}}})
	}
	others, err := s.operators.CountDocuments(ctx, bson.D{{Key: "domainId", Value: op.DomainID}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: id}}},
		{Key: "role", Value: operators.RoleAdmin}, {Key: "status", Value: operators.StatusActive}})
	if err == nil && others == 0 {
		err = operators.ErrLastAdmin
	}
	if err != nil {
		release()
		return nil, mapErr(err)
	}
	return release, nil
}
