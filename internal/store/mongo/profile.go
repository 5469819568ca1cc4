package mongo

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
)

// profileSet returns the $set fields of u's profile fields: the search
// tokens and, with a change of name, the sort keys change in the same
// single-document update.
func profileSet(u customers.Update) bson.D {
	var set bson.D
	for _, f := range []struct {
		key   string
		value *string
	}{{"firstName", u.FirstName}, {"lastName", u.LastName}, {"email", u.Email}, {"phone", u.Phone}} {
		if f.value != nil {
			set = append(set, bson.E{Key: f.key, Value: *f.value})
		}
	}
	if u.Phone != nil {
		set = append(set, bson.E{Key: "phoneRegion", Value: u.PhoneRegion})
	}
	if u.FirstName != nil && u.LastName != nil {
		last, first := customers.SortKeys(customers.Customer{FirstName: *u.FirstName, LastName: *u.LastName})
		set = append(set, bson.E{Key: "lastKey", Value: last}, bson.E{Key: "firstKey", Value: first})
	}
	if u.SearchTokens != nil {
		set = append(set, bson.E{Key: "searchTokens", Value: u.SearchTokens}, bson.E{Key: "searchPrefixes", Value: searchPrefixes(u.SearchTokens)})
	}
	return set
}

// emailTaken reports whether u sets an email that another customer of the
// same domain has. The domain's unique index on emails decides on MongoDB
// (a duplicate key, which UpdateCustomer also maps); this read answers first
// because FerretDB, the test server, reports that index's refusal of a
// findAndModify as an internal error.
func (s *Store) emailTaken(ctx context.Context, u customers.Update) (bool, error) {
	if u.Email == nil {
		return false, nil
	}
	var self struct {
		DomainID string `bson:"domainId"`
		Version  int64  `bson:"version"`
	}
	projection := bson.D{{Key: "domainId", Value: 1}, {Key: "version", Value: 1}}
	err := s.customers.FindOne(ctx, bson.D{{Key: "_id", Value: u.ID}}, options.FindOne().SetProjection(projection)).Decode(&self)
	if errors.Is(err, mongo.ErrNoDocuments) || err == nil && self.Version != u.Version {
		return false, nil // the update finds no customer, or a stale version: its answer
	}
	if err != nil {
		return false, err
	}
	filter := bson.D{{Key: "domainId", Value: self.DomainID}, {Key: "email", Value: *u.Email}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: u.ID}}}}
	n, err := s.customers.CountDocuments(ctx, filter, options.Count().SetLimit(1))
	return n > 0, err
}
