package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/iotconsole/bff/internal/customers"
)

// The customer_search rowid of a customer (customers.sort_seq) is its order
// key: the top 43 bits encode the first 8 characters of "lastKey\x00firstKey"
// in base 40, preserving their order; the low 20 bits tell apart customers
// whose names share those characters. Walking an FTS5 match in rowid order
// therefore walks it in name order, so a page costs about its own size however
// many customers match. Only customers in one group (same 8 characters) need
// sorting in Go.
const (
	orderChars      = 8
	orderRadix      = 40
	orderSuffixBits = 20
	orderSuffixMask = 1<<orderSuffixBits - 1
)

// orderSymbol maps a rune to 0..39 without breaking code point order:
// end of string and separators, other punctuation, digits, a-z, the rest.
func orderSymbol(r rune) int64 {
	switch {
	case r == 0:
		return 0
	case r < '0':
		return 1
	case r <= '9':
		return 2 + int64(r-'0')
	case r < 'a':
		return 12
	case r <= 'z':
		return 13 + int64(r-'a')
	default:
		return 39
	}
}

// orderGroup returns the order key's top part for a customer's sort keys.
func orderGroup(lastKey, firstKey string) int64 {
	runes := []rune(lastKey + "\x00" + firstKey)
	var g int64
	for i := range orderChars {
		var sym int64
		if i < len(runes) {
			sym = orderSymbol(runes[i])
		}
		g = g*orderRadix + sym
	}
	return g
}

// nextOrderKey returns an unused order key in the customer's group.
func nextOrderKey(ctx context.Context, tx *sql.Tx, lastKey, firstKey string) (int64, error) {
	base := orderGroup(lastKey, firstKey) << orderSuffixBits
	var used sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(sort_seq) FROM customers WHERE sort_seq BETWEEN ? AND ?`,
		base, base|orderSuffixMask).Scan(&used); err != nil {
		return 0, err
	}
	if !used.Valid {
		return base, nil
	}
	if used.Int64 == base|orderSuffixMask {
		return 0, fmt.Errorf("more than %d customers have names starting %q", orderSuffixMask+1, lastKey+" "+firstKey)
	}
	return used.Int64 + 1, nil
}

// ftsPhrase quotes a term for an FTS5 query; terms hold only token
// characters, but quoting keeps any input inert.
func ftsPhrase(term string) string {
	return `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
}

// domainMarker is the FTS token that puts a customer in its domain. "$" is a
// token character to FTS5's unicode61 tokenizer (a symbol, not punctuation)
// but never part of a search token (customers.SearchTokens drops it), so no
// customer data can pose as a marker.
func domainMarker(domainID string) string {
	return "$" + domainID
}

// matchExpr returns the FTS5 query for q's terms in q's domain, as exact
// tokens or as prefixes.
func matchExpr(q customers.SearchQuery, prefix bool) string {
	parts := []string{ftsPhrase(domainMarker(q.DomainID))}
	for _, t := range q.Terms {
		p := ftsPhrase(t)
		if prefix {
			p += " *"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " AND ")
}

// SearchCustomers implements customers.SearchStore.
func (s *Store) SearchCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	if len(q.Terms) == 0 {
		return s.listCustomers(ctx, q)
	}
	exact, limit := q.Exact, q.Limit
	query := `SELECT ` + customerColumns + ` FROM customer_search s JOIN customers c ON c.sort_seq = s.rowid
		WHERE customer_search MATCH ? AND s.rowid >= ?`
	args := []any{matchExpr(q, !exact), int64(0)}
	if q.After != nil {
		args[1] = orderGroup(q.After.LastKey, q.After.FirstKey) << orderSuffixBits
	}
	if q.Status != "" {
		query += ` AND c.status = ?`
		args = append(args, q.Status)
	}
	query += ` ORDER BY s.rowid`
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	defer rows.Close()
	var hits []customers.Hit
	lastGroup := int64(-1)
	for rows.Next() {
		c, orderKey, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		group := orderKey >> orderSuffixBits
		if len(hits) >= limit && group != lastGroup {
			break // every group that can reach the page is complete
		}
		if !exact && customers.IsExactMatch(q.Terms, c.SearchTokens) {
			continue // listed in the exact tier
		}
		cur := customers.CursorOf(c, exact)
		if q.After != nil && !q.After.Less(cur) {
			continue
		}
		hits = append(hits, customers.Hit{Customer: c, Cursor: cur})
		lastGroup = group
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	slices.SortFunc(hits, func(a, b customers.Hit) int {
		if a.Cursor.Less(b.Cursor) {
			return -1
		}
		return 1
	})
	return hits[:min(limit, len(hits))], nil
}

// listCustomers pages through a domain in name order, with no search terms.
func (s *Store) listCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	query := `SELECT ` + customerColumns + ` FROM customers c WHERE c.domain_id = ?`
	args := []any{q.DomainID}
	if q.Status != "" {
		query += ` AND c.status = ?`
		args = append(args, q.Status)
	}
	if q.After != nil {
		query += ` AND (c.last_key, c.first_key, c.id) > (?, ?, ?)`
		args = append(args, q.After.LastKey, q.After.FirstKey, q.After.ID)
	}
	query += ` ORDER BY c.last_key, c.first_key, c.id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()
	var hits []customers.Hit
	for rows.Next() {
		c, _, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("list customers: %w", err)
		}
		hits = append(hits, customers.Hit{Customer: c, Cursor: customers.CursorOf(c, false)})
	}
	return hits, rows.Err()
}

// CountCustomerMatches implements customers.SearchStore.
func (s *Store) CountCustomerMatches(ctx context.Context, q customers.SearchQuery) (int64, error) {
	var query string
	var args []any
	switch {
	case len(q.Terms) == 0:
		query, args = `SELECT COUNT(*) FROM customers c WHERE c.domain_id = ?`, []any{q.DomainID}
	default:
		query = `SELECT COUNT(*) FROM customer_search s JOIN customers c ON c.sort_seq = s.rowid WHERE customer_search MATCH ?`
		args = []any{matchExpr(q, true)}
	}
	if q.Status != "" {
		query += ` AND c.status = ?`
		args = append(args, q.Status)
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}
