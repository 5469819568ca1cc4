package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/iotconsole/bff/internal/domains"
)

// Domains implements customers.ReindexStore.
func (s *Store) Domains(ctx context.Context) ([]domains.Domain, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM domains ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", mapErr(err))
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("domains: %w", mapErr(err))
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("domains: %w", mapErr(err))
	}
	out := make([]domains.Domain, 0, len(ids))
	for _, id := range ids {
		d, err := s.DomainByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// searchTokenRulesKey is store_meta's key of customers.TokenRules.
const searchTokenRulesKey = "search_token_rules"

// SearchTokenRules implements customers.ReindexStore.
func (s *Store) SearchTokenRules(ctx context.Context) (int, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = ?`, searchTokenRulesKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search token rules: %w", mapErr(err))
	}
	return strconv.Atoi(v)
}

// SetSearchTokenRules implements customers.ReindexStore.
func (s *Store) SetSearchTokenRules(ctx context.Context, rules int) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, searchTokenRulesKey, strconv.Itoa(rules))
	return mapErr(err)
}

// ReplaceSearchTokens implements customers.ReindexStore: the tokens column
// and the customer's row of the search index, in one transaction.
func (s *Store) ReplaceSearchTokens(ctx context.Context, tokens map[string][]string) error {
	return mapErr(s.inTx(ctx, func(tx *sql.Tx) error {
		for id, ts := range tokens {
			var label int64
			var domainID string
			err := tx.QueryRowContext(ctx, `UPDATE customers SET search_tokens = ? WHERE id = ? RETURNING sort_seq, domain_id`,
				strings.Join(ts, " "), id).Scan(&label, &domainID)
			if errors.Is(err, sql.ErrNoRows) {
				continue // erased meanwhile
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid = ?`, label); err != nil {
				return err
			}
			if err := indexCustomer(ctx, tx, label, domainID, ts); err != nil {
				return err
			}
		}
		return nil
	}))
}
