package mongo

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Search's index. A term typed as you type is a prefix ("jo" for John); a
// prefix regex on searchTokens leaves MongoDB two bad plans for a page of 20
// in name order: the token index followed by an in-memory sort of every
// match, or the name-order index walked past every customer that does not
// match. So every customer document also holds searchPrefixes, every prefix
// of 1 to indexedPrefixRunes runes of each of its tokens, and the compound
// multikey index {domainId, searchPrefixes, lastKey, firstKey, _id} answers
// a one-term search with one index range already in name order: about a
// page of index keys read, whatever the term (the way edge-n-gram
// autocomplete indexes work). A term longer than indexedPrefixRunes is
// looked up by its first indexedPrefixRunes runes and checked against
// searchTokens. The exact tier has {domainId, searchTokens, lastKey,
// firstKey, _id} the same way. docs/ARCHITECTURE.md gives the storage cost.

// indexedPrefixRunes is the longest token prefix stored in searchPrefixes:
// 8, as the SQLite store's FTS5 prefix indexes (prefix = '1 2 ... 8').
const indexedPrefixRunes = 8

// searchPrefixes returns every prefix of 1 to indexedPrefixRunes runes of
// each of tokens, each once, in the order first met.
func searchPrefixes(tokens []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range tokens {
		end := 0
		for n := 1; n <= indexedPrefixRunes && end < len(t); n++ {
			_, size := utf8.DecodeRuneInString(t[end:])
			end += size
			if p := t[:end]; !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// indexedPrefix returns the key of searchPrefixes that term is looked up
// by, and whether that key is the whole term.
func indexedPrefix(term string) (key string, whole bool) {
	end := 0
	for n := 0; n < indexedPrefixRunes && end < len(term); n++ {
		_, size := utf8.DecodeRuneInString(term[end:])
		end += size
	}
	return term[:end], end == len(term)
}

// Index names of search, for the query's hint: MongoDB's plan cache can
// otherwise carry the name-order index chosen for one term to another.
const (
	prefixIndexName = "search_prefixes"
	exactIndexName  = "search_tokens"
	// obsoleteTokenIndex is {domainId, searchTokens}, which both replace.
	obsoleteTokenIndex = "domainId_1_searchTokens_1"
)

// searchPrefixesID names the meta document written once every customer
// document has its searchPrefixes.
const searchPrefixesID = "searchPrefixes"

// backfillSearchPrefixes gives every customer document stored before
// searchPrefixes existed its prefixes, from its stored tokens, one update
// per document (FerretDB v1 stalls on bulk updates), each conditional on the
// field still missing: idempotent, and instances starting together write
// the same values. The meta document makes later starts skip the scan.
func (s *Store) backfillSearchPrefixes(ctx context.Context) error {
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: searchPrefixesID}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("backfill search prefixes: %w", mapErr(err))
	}
	missing := bson.E{Key: "searchPrefixes", Value: bson.D{{Key: "$exists", Value: false}}}
	cur, err := s.customers.Find(ctx, bson.D{missing}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "searchTokens", Value: 1}}))
	if err != nil {
		return fmt.Errorf("backfill search prefixes: %w", mapErr(err))
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var doc struct {
			ID     string   `bson:"_id"`
			Tokens []string `bson:"searchTokens"`
		}
		if err := cur.Decode(&doc); err != nil {
			return fmt.Errorf("backfill search prefixes: %w", err)
		}
		set := bson.D{{Key: "$set", Value: bson.D{{Key: "searchPrefixes", Value: searchPrefixes(doc.Tokens)}}}}
		if _, err := s.customers.UpdateOne(ctx, bson.D{{Key: "_id", Value: doc.ID}, missing}, set); err != nil {
			return fmt.Errorf("backfill search prefixes: %w", mapErr(err))
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("backfill search prefixes: %w", mapErr(err))
	}
	_, err = s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: searchPrefixesID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "value", Value: indexedPrefixRunes}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("backfill search prefixes: %w", mapErr(err))
	}
	return nil
}

// dropObsoleteTokenIndex drops {domainId, searchTokens} if a store created
// before the search indexes has it (IndexNotFound, code 27, and
// NamespaceNotFound, 26, when there is no such index or collection yet).
func (s *Store) dropObsoleteTokenIndex(ctx context.Context) error {
	err := s.customers.Indexes().DropOne(ctx, obsoleteTokenIndex)
	var cmdErr mongo.CommandError
	if err == nil || (errors.As(err, &cmdErr) && (cmdErr.Code == 27 || cmdErr.Code == 26)) {
		return nil
	}
	return fmt.Errorf("drop index %s: %w", obsoleteTokenIndex, mapErr(err))
}
