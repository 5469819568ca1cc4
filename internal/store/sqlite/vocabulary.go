package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"unicode/utf8"

	"github.com/iotconsole/bff/internal/customers"
)

// countVocabulary adds delta (1 for a customer written, -1 for one renamed
// from these names or erased) to the domain's vocabulary counts of the name
// tokens of first and last, in tx, and drops the tokens no customer holds
// any more (an erased customer's name leaves nothing behind).
func countVocabulary(ctx context.Context, tx writer, domainID, first, last string, delta int) error {
	counts := map[string]int{}
	for _, token := range customers.NameTokens(first, last) {
		counts[token] += delta
	}
	return addToVocabulary(ctx, tx, domainID, counts)
}

// addToVocabulary adds counts (token -> change in the number of customers
// holding it) to the domain's vocabulary in tx, one write per token, and
// drops the tokens no customer holds any more. An import counts a whole
// batch's names this way: one write per distinct token, not per customer.
func addToVocabulary(ctx context.Context, tx writer, domainID string, counts map[string]int) error {
	removed := false
	for token, delta := range counts {
		if delta == 0 {
			continue
		}
		removed = removed || delta < 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_vocabulary (domain_id, token, length, customers) VALUES (?, ?, ?, ?)
			ON CONFLICT (domain_id, token) DO UPDATE SET customers = customers + excluded.customers`,
			domainID, token, utf8.RuneCountInString(token), delta); err != nil {
			return err
		}
	}
	if removed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_vocabulary WHERE domain_id = ? AND customers <= 0`, domainID); err != nil {
			return err
		}
	}
	return nil
}

// uncountCustomer takes the names customer id has now out of its domain's vocabulary.
func uncountCustomer(ctx context.Context, tx *sql.Tx, id string) error {
	var domainID, first, last string
	if err := tx.QueryRowContext(ctx, `SELECT dm.id, c.first_name, c.last_name FROM `+customersWithDomains+` WHERE c.id = ?`, idKey(id)).Scan(&domainID, &first, &last); err != nil {
		return err
	}
	return countVocabulary(ctx, tx, domainID, first, last, -1)
}

// Vocabulary implements customers.SuggestStore.
func (s *Store) Vocabulary(ctx context.Context, domainID string, minLength, maxLength int) ([]customers.VocabularyToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT token, customers FROM search_vocabulary WHERE domain_id = ? AND length BETWEEN ? AND ?`,
		domainID, minLength, maxLength)
	if err != nil {
		return nil, fmt.Errorf("vocabulary: %w", mapErr(err))
	}
	defer rows.Close()
	var out []customers.VocabularyToken
	for rows.Next() {
		var v customers.VocabularyToken
		if err := rows.Scan(&v.Token, &v.Customers); err != nil {
			return nil, fmt.Errorf("vocabulary: %w", mapErr(err))
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

// ReplaceVocabulary implements customers.ReindexStore.
func (s *Store) ReplaceVocabulary(ctx context.Context, domainID string, counts map[string]int) error {
	return mapErr(s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM search_vocabulary WHERE domain_id = ?`, domainID); err != nil {
			return err
		}
		for token, n := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_vocabulary (domain_id, token, length, customers) VALUES (?, ?, ?, ?)`,
				domainID, token, utf8.RuneCountInString(token), n); err != nil {
				return err
			}
		}
		return nil
	}))
}
