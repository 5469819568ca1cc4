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
	return s.domainsWhere(ctx, func(string) bool { return true }, `SELECT id, name FROM domains ORDER BY id`)
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
// only; RebuildSearchIndex then builds the search index from it.
func (s *Store) ReplaceSearchTokens(ctx context.Context, tokens map[string][]string) error {
	return mapErr(s.inTx(ctx, func(tx *sql.Tx) error {
		for id, ts := range tokens {
			if _, err := tx.ExecContext(ctx, `UPDATE customers SET search_tokens = ? WHERE id = ?`, strings.Join(ts, " "), id); err != nil {
				return err
			}
		}
		return nil
	}))
}

// RebuildSearchIndex implements customers.ReindexStore: the FTS5 index is
// emptied ('delete-all') and filled again from every customer's tokens in
// label order, in one transaction, with labels compacted on the way
// (compactLabels): far cheaper than replacing a million rows one by one (each
// delete in a contentless-delete index adds a tombstone that merges must
// carry).
func (s *Store) RebuildSearchIndex(ctx context.Context) error {
	return s.compactLabels(ctx)
}
