package mongo

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/iotconsole/bff/internal/customers"
)

// Search uses the compound multikey indexes of prefixes.go: a term of the
// prefix tier is an exact key of searchPrefixes (and, when longer than
// indexedPrefixRunes, an anchored, escaped prefix regex on searchTokens);
// the exact tier matches searchTokens. MongoDB's $text index is not used: it
// matches whole stemmed words, so "jo" would never find "John" (and FerretDB
// has no $text at all).

// searchFilter returns the filter of one tier of q (see customers.SearchQuery).
func searchFilter(q customers.SearchQuery, tier bool) bson.D {
	and := bson.A{bson.D{{Key: "domainId", Value: q.DomainID}}, bson.D{notErased}}
	if q.Status != "" {
		and = append(and, bson.D{{Key: "status", Value: q.Status}})
	}
	if len(q.Terms) > 0 {
		exact := exactFilter(q.Terms)
		switch {
		case tier && q.Exact:
			and = append(and, exact)
		default:
			for _, t := range q.Terms {
				and = append(and, prefixFilter(t)...)
			}
			if tier {
				and = append(and, bson.D{{Key: "$nor", Value: bson.A{exact}}})
			}
		}
	}
	if tier && q.After != nil {
		a := q.After
		and = append(and, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "lastKey", Value: bson.D{{Key: "$gt", Value: a.LastKey}}}},
			bson.D{{Key: "lastKey", Value: a.LastKey}, {Key: "firstKey", Value: bson.D{{Key: "$gt", Value: a.FirstKey}}}},
			bson.D{{Key: "lastKey", Value: a.LastKey}, {Key: "firstKey", Value: a.FirstKey}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: a.ID}}}},
		}}})
	}
	return bson.D{{Key: "$and", Value: and}}
}

// exactFilter returns the filter of the customers that hold every one of
// terms as a whole token, in any of its forms (customers.ExactTermForms).
func exactFilter(terms []string) bson.D {
	and := make(bson.A, len(terms))
	for i, t := range terms {
		and[i] = bson.D{{Key: "searchTokens", Value: bson.D{{Key: "$in", Value: customers.ExactTermForms(t)}}}}
	}
	return bson.D{{Key: "$and", Value: and}}
}

// prefixFilter returns the conditions under which a customer holds a token
// that one of term's forms (customers.TermForms) is a prefix of: the forms'
// keys of searchPrefixes, which the index reads, and, when a form is longer
// than its key, a check of each form (its key when whole, else an anchored,
// escaped prefix regex on searchTokens).
func prefixFilter(term string) bson.A {
	forms := customers.TermForms(term)
	keys := make(bson.A, len(forms))
	checks := make(bson.A, len(forms))
	truncated := false
	for i, form := range forms {
		key, whole := indexedPrefix(form)
		keys[i], checks[i] = key, bson.D{{Key: "searchPrefixes", Value: key}}
		if !whole {
			checks[i], truncated = bson.D{{Key: "searchTokens", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(form)}}}, true
		}
	}
	switch {
	case len(forms) == 1 && truncated:
		return bson.A{bson.D{{Key: "searchPrefixes", Value: keys[0]}}, checks[0]}
	case len(forms) == 1:
		return bson.A{checks[0]}
	case truncated:
		return bson.A{bson.D{{Key: "searchPrefixes", Value: bson.D{{Key: "$in", Value: keys}}}}, bson.D{{Key: "$or", Value: checks}}}
	default:
		return bson.A{bson.D{{Key: "searchPrefixes", Value: bson.D{{Key: "$in", Value: keys}}}}}
	}
}

// hitProjection leaves out of a search's hits what no page shows: the
// password hash, the search tokens and their prefixes (every prefix of every
// token, most of a customer document's size) and the outbox.
var hitProjection = bson.D{{Key: "passwordHash", Value: 0}, {Key: "searchTokens", Value: 0}, {Key: "searchPrefixes", Value: 0}, {Key: "outbox", Value: 0}}

// SearchCustomers implements customers.SearchStore.
func (s *Store) SearchCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	opts := options.Find().
		SetSort(bson.D{{Key: "lastKey", Value: 1}, {Key: "firstKey", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(q.Limit)).
		SetProjection(hitProjection)
	if hint := searchHint(q, true); hint != "" {
		opts.SetHint(hint)
	}
	cur, err := s.customers.Find(ctx, searchFilter(q, true), opts)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	var docs []customerDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	hits := make([]customers.Hit, len(docs))
	for i, d := range docs {
		cur := customers.Cursor{Exact: q.Exact && len(q.Terms) > 0, LastKey: d.LastKey, FirstKey: d.FirstKey, ID: d.ID}
		hits[i] = customers.Hit{Customer: d.customer(), Cursor: cur}
	}
	return hits, nil
}

// CountCustomerMatches implements customers.SearchStore.
func (s *Store) CountCustomerMatches(ctx context.Context, q customers.SearchQuery) (int64, error) {
	opts := options.Count()
	if hint := searchHint(q, false); hint != "" {
		opts.SetHint(hint)
	}
	n, err := s.customers.CountDocuments(ctx, searchFilter(q, false), opts)
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", mapErr(err))
	}
	return n, nil
}

// searchHint names the index a search of q (one tier, or both for a count)
// reads: the exact or the prefix index when q has terms; none for a blank
// query, which the name-order indexes answer.
func searchHint(q customers.SearchQuery, tier bool) string {
	switch {
	case len(q.Terms) == 0:
		return ""
	case tier && q.Exact:
		return exactIndexName
	default:
		return prefixIndexName
	}
}
