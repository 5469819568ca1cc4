package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/domains"
)

// Domains implements customers.ReindexStore.
func (s *Store) Domains(ctx context.Context) ([]domains.Domain, error) {
	docs, err := findAll[domainDoc](ctx, s.domains, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	out := make([]domains.Domain, len(docs))
	for i, doc := range docs {
		doc.CreatedAt = doc.CreatedAt.UTC()
		if doc.SignUpPolicy == "" {
			doc.SignUpPolicy = domains.SignUpClosed
		}
		out[i] = domains.Domain(doc)
	}
	return out, nil
}

// searchTokenRulesID is the meta document of customers.TokenRules.
const searchTokenRulesID = "searchTokenRules"

// SearchTokenRules implements customers.ReindexStore.
func (s *Store) SearchTokenRules(ctx context.Context) (int, error) {
	var doc struct {
		Value int `bson:"value"`
	}
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: searchTokenRulesID}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search token rules: %w", mapErr(err))
	}
	return doc.Value, nil
}

// SetSearchTokenRules implements customers.ReindexStore.
func (s *Store) SetSearchTokenRules(ctx context.Context, rules int) error {
	_, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: searchTokenRulesID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: rules}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("set search token rules: %w", mapErr(err))
	}
	return nil
}

// KeepsSearchTokens implements customers.ReindexStore: they are each
// document's searchTokens.
func (s *Store) KeepsSearchTokens() bool { return true }

// ReplaceSearchTokens implements customers.ReindexStore, one update per
// customer (FerretDB v1 stalls on bulk writes of updates).
func (s *Store) ReplaceSearchTokens(ctx context.Context, tokens map[string][]string) error {
	for id, ts := range tokens {
		_, err := s.customers.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, notErased},
			bson.D{{Key: "$set", Value: bson.D{{Key: "searchTokens", Value: ts}, {Key: "searchPrefixes", Value: searchPrefixes(ts)}}}})
		if err != nil {
			return fmt.Errorf("replace search tokens: %w", mapErr(err))
		}
	}
	return nil
}

// RebuildSearchIndex implements customers.ReindexStore: the searchTokens
// and searchPrefixes fields are the index, so there is nothing to rebuild.
func (s *Store) RebuildSearchIndex(ctx context.Context) error { return nil }
