package mongo

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
)

// The vocabulary collection holds one document per name token of a domain
// ({_id: domainId/token, domainId, token, length, customers}). MongoDB has
// no transaction here: it is counted just after each customer write, so a
// process killed in between leaves a count off by one, which the next
// customers.Reindex corrects; suggestions are checked by a search before
// they are offered, so a stale token is never suggested.

// vocabularyChange is a change of a domain's name-token counts.
type vocabularyChange map[string]map[string]int // domain id -> token -> delta

// with is v with add(domainID, first, last, delta) applied.
func (v vocabularyChange) with(domainID, first, last string, delta int) vocabularyChange {
	v.add(domainID, first, last, delta)
	return v
}

// add counts the name tokens of first and last in domain by delta.
func (v vocabularyChange) add(domainID, first, last string, delta int) {
	if v[domainID] == nil {
		v[domainID] = map[string]int{}
	}
	for _, t := range customers.NameTokens(first, last) {
		v[domainID][t] += delta
	}
}

// countVocabulary applies v: the tokens not counted yet are inserted with no
// customers (duplicates ignored), then the counts move with one UpdateMany
// of $inc per distinct change (FerretDB v1 stalls on bulk writes and upserts
// that update), then the tokens no customer holds any more go (an erased
// customer's name leaves nothing behind).
func (s *Store) countVocabulary(ctx context.Context, v vocabularyChange) error {
	var inserts []any
	byDelta := map[int][]string{} // delta -> the ids of the tokens it applies to
	for domainID, deltas := range v {
		for token, delta := range deltas {
			if delta == 0 {
				continue
			}
			id := domainID + "/" + token
			if delta > 0 {
				inserts = append(inserts, bson.D{{Key: "_id", Value: id}, {Key: "domainId", Value: domainID}, {Key: "token", Value: token},
					{Key: "length", Value: utf8.RuneCountInString(token)}, {Key: "customers", Value: 0}})
			}
			byDelta[delta] = append(byDelta[delta], id)
		}
	}
	if len(inserts) > 0 {
		_, err := s.vocabulary.InsertMany(ctx, inserts, options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return fmt.Errorf("count vocabulary: %w", mapErr(err))
		}
	}
	var decreased []string
	for delta, ids := range byDelta {
		if delta < 0 {
			decreased = append(decreased, ids...)
		}
		_, err := s.vocabulary.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "customers", Value: delta}}}})
		if err != nil {
			return fmt.Errorf("count vocabulary: %w", mapErr(err))
		}
	}
	if len(decreased) > 0 { // by _id: the tokens just counted down, not a scan of the vocabulary
		gone := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: decreased}}}, {Key: "customers", Value: bson.D{{Key: "$lte", Value: 0}}}}
		if _, err := s.vocabulary.DeleteMany(ctx, gone); err != nil {
			return fmt.Errorf("count vocabulary: %w", mapErr(err))
		}
	}
	return nil
}

// onlyDuplicates reports whether every error of an unordered InsertMany is
// a duplicate key (the documents were there already).
func onlyDuplicates(err error) bool {
	var bulk mongo.BulkWriteException
	if !errors.As(err, &bulk) || bulk.WriteConcernError != nil {
		return false
	}
	for _, we := range bulk.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}

// countInserted counts the vocabulary of the customers an InsertMany of cs
// wrote: all of them, or those its error does not name.
func (s *Store) countInserted(ctx context.Context, cs []customers.Customer, insertErr error) error {
	failed := map[int]bool{}
	var bulk mongo.BulkWriteException
	if errors.As(insertErr, &bulk) {
		for _, we := range bulk.WriteErrors {
			failed[we.Index] = true
		}
	} else if insertErr != nil {
		return nil // nothing known to be written
	}
	v := vocabularyChange{}
	for i, c := range cs {
		if !failed[i] {
			v.add(c.DomainID, c.FirstName, c.LastName, 1)
		}
	}
	return s.countVocabulary(ctx, v)
}

// Vocabulary implements customers.SuggestStore.
func (s *Store) Vocabulary(ctx context.Context, domainID string, minLength, maxLength int) ([]customers.VocabularyToken, error) {
	filter := bson.D{{Key: "domainId", Value: domainID}, {Key: "length", Value: bson.D{{Key: "$gte", Value: minLength}, {Key: "$lte", Value: maxLength}}},
		{Key: "customers", Value: bson.D{{Key: "$gt", Value: 0}}}}
	docs, err := findAll[struct {
		Token     string `bson:"token"`
		Customers int    `bson:"customers"`
	}](ctx, s.vocabulary, filter)
	if err != nil {
		return nil, fmt.Errorf("vocabulary: %w", err)
	}
	out := make([]customers.VocabularyToken, len(docs))
	for i, d := range docs {
		out[i] = customers.VocabularyToken{Token: d.Token, Customers: d.Customers}
	}
	return out, nil
}

// ReplaceVocabulary implements customers.ReindexStore.
func (s *Store) ReplaceVocabulary(ctx context.Context, domainID string, counts map[string]int) error {
	if _, err := s.vocabulary.DeleteMany(ctx, bson.D{{Key: "domainId", Value: domainID}}); err != nil {
		return fmt.Errorf("replace vocabulary: %w", mapErr(err))
	}
	return s.countVocabulary(ctx, vocabularyChange{domainID: counts})
}
