package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
)

// ftsPhrase quotes a term for an FTS5 query; terms hold only token
// characters, but quoting keeps any input inert.
func ftsPhrase(term string) string {
	return `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
}

// termsExpr returns the FTS5 query that every one of terms matches, each
// through any of its forms, as a whole token (customers.ExactTermForms) or,
// with suffix " *", as a prefix (customers.TermForms).
func termsExpr(terms []string, suffix string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		forms := customers.ExactTermForms(t)
		if suffix != "" {
			forms = customers.TermForms(t)
		}
		for j, f := range forms {
			forms[j] = ftsPhrase(f) + suffix
		}
		parts[i] = "(" + strings.Join(forms, " OR ") + ")"
	}
	return strings.Join(parts, " AND ")
}

// matchExpr returns the FTS5 query of q's terms: every term as an exact
// token, or every term as a prefix but not all exactly (the other tier).
func matchExpr(q customers.SearchQuery, exact bool) string {
	if exact {
		return termsExpr(q.Terms, "")
	}
	return "(" + termsExpr(q.Terms, " *") + ") NOT (" + termsExpr(q.Terms, "") + ")"
}

// prefixExpr returns the FTS5 query of every customer matching q's terms in
// either tier.
func prefixExpr(q customers.SearchQuery) string {
	return termsExpr(q.Terms, " *")
}

// domainLabels returns the first and last labels of the domain's customers,
// and false when it has none. Labels are in (domain, name) order, so the
// domain's customers are exactly the rows with labels from first to last: a
// search reads that range of the index, which FTS5 seeks to, instead of
// intersecting its terms with the domain marker's list of every customer of
// the domain (half of all search CPU at a million customers).
func (s *Store) domainLabels(ctx context.Context, domainID string) (first, last int64, ok bool, err error) {
	err = s.queryRow(ctx, `SELECT sort_seq FROM customers WHERE domain_number = `+domainNumberSQL+` ORDER BY last_key, first_key, id LIMIT 1`, []any{domainID}, &first)
	if err == nil {
		err = s.queryRow(ctx, `SELECT sort_seq FROM customers WHERE domain_number = `+domainNumberSQL+` ORDER BY last_key DESC, first_key DESC, id DESC LIMIT 1`, []any{domainID}, &last)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	return first, last, err == nil, err
}

// SearchCustomers implements customers.SearchStore. FTS5 hands out matches
// in label order, which is name order, so the page is read and never sorted.
func (s *Store) SearchCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	if len(q.Terms) == 0 {
		return s.listCustomers(ctx, q)
	}
	first, last, ok, err := s.domainLabels(ctx, q.DomainID)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	if !ok {
		return nil, nil
	}
	start := first - 1
	if q.After != nil {
		// The greatest label at or before the cursor's position, found anew so
		// that relabelling since the previous page changes nothing.
		err := mapErr(s.queryRow(ctx, `SELECT sort_seq FROM customers WHERE (domain_number, last_key, first_key, id) <= (`+domainNumberSQL+`, ?, ?, ?)
			ORDER BY domain_number DESC, last_key DESC, first_key DESC, id DESC LIMIT 1`,
			[]any{q.DomainID, q.After.LastKey, q.After.FirstKey, idKey(q.After.ID)}, &start))
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		start = max(start, first-1)
	}
	query := `SELECT ` + hitColumns + ` FROM customer_search s JOIN customers c ON c.sort_seq = s.rowid
		WHERE customer_search MATCH ? AND s.rowid > ? AND s.rowid <= ?`
	args := []any{matchExpr(q, q.Exact), start, last}
	if q.Status != "" {
		query += ` AND c.status = ?`
		args = append(args, enumKey(q.Status, customerStatuses))
	}
	query += ` ORDER BY s.rowid LIMIT ?`
	args = append(args, q.Limit)
	return s.hits(ctx, q.DomainID, q.Exact, query, args...)
}

// hits runs a query of hitColumns for customers of domainID and returns its
// rows as hits of one tier.
func (s *Store) hits(ctx context.Context, domainID string, exact bool, query string, args ...any) ([]customers.Hit, error) {
	stmt, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	defer rows.Close()
	var hits []customers.Hit
	for rows.Next() {
		c, cur, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		cur.Exact = exact
		c.DomainID = domainID
		hits = append(hits, customers.Hit{Customer: c, Cursor: cur})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search customers: %w", mapErr(err))
	}
	return hits, nil
}

// listCustomers pages through a domain in name order, with no search terms.
func (s *Store) listCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	query, args := listCustomersSQL(q)
	return s.hits(ctx, q.DomainID, false, query, args...)
}

// listCustomersSQL returns the query of listCustomers and its arguments.
func listCustomersSQL(q customers.SearchQuery) (string, []any) {
	query := `SELECT ` + hitColumns + ` FROM customers c WHERE c.domain_number = ` + domainNumberSQL + statusCondition(q.Status)
	args := []any{q.DomainID}
	if q.Status != "" {
		args = append(args, enumKey(q.Status, customerStatuses))
	}
	if q.After != nil {
		query += ` AND (c.last_key, c.first_key, c.id) > (?, ?, ?)`
		args = append(args, q.After.LastKey, q.After.FirstKey, idKey(q.After.ID))
	}
	query += ` ORDER BY c.last_key, c.first_key, c.id LIMIT ?`
	return query, append(args, q.Limit)
}

// CountCustomerMatches implements customers.SearchStore.
func (s *Store) CountCustomerMatches(ctx context.Context, q customers.SearchQuery) (int64, error) {
	var query string
	var args []any
	switch {
	case len(q.Terms) == 0 && q.Status == customers.StatusActive:
		// Every customer but those of the other statuses, which their index
		// counts (the ACTIVE ones have none: statusNameIndexSQL).
		query, args = `SELECT (SELECT COUNT(*) FROM customers WHERE domain_number = `+domainNumberSQL+`) -
			(SELECT COUNT(*) FROM customers WHERE domain_number = `+domainNumberSQL+` AND status != `+activeStatus+`)`, []any{q.DomainID, q.DomainID}
		q.Status = ""
	case len(q.Terms) == 0:
		query, args = `SELECT COUNT(*) FROM customers c WHERE c.domain_number = `+domainNumberSQL, []any{q.DomainID}
	default:
		first, last, ok, err := s.domainLabels(ctx, q.DomainID)
		if err != nil {
			return 0, fmt.Errorf("count customers: %w", mapErr(err))
		}
		if !ok {
			return 0, nil
		}
		query = `SELECT COUNT(*) FROM customer_search s JOIN customers c ON c.sort_seq = s.rowid
			WHERE customer_search MATCH ? AND s.rowid >= ? AND s.rowid <= ?`
		args = []any{prefixExpr(q), first, last}
	}
	if q.Status != "" {
		query += statusCondition(q.Status)
		args = append(args, enumKey(q.Status, customerStatuses))
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count customers: %w", mapErr(err))
	}
	return n, nil
}

// statusCondition returns the condition on c.status, with one parameter, of
// a listing or count of customers of status (none for ""): for a status other
// than ACTIVE it also states the condition of the partial index of such
// customers (statusNameIndexSQL), so that SQLite reads that index.
func statusCondition(status customers.Status) string {
	switch status {
	case "":
		return ""
	case customers.StatusActive:
		return ` AND c.status = ?`
	default:
		return ` AND c.status = ? AND c.status != ` + activeStatus
	}
}
