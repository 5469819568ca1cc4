package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// Customers and devices name their domain by its number, domains.number
// (migration 23), a small integer stored in one or two bytes, instead of its
// id, the 12-character text the API and every other table use: the domain
// is in every customer's and device's row and leads four of their indexes,
// about 70 bytes a customer (docs/BENCHMARKS.md, "Twentieth round").
//
// Numbers follow the order of the domains' ids at the migration, and a new
// domain takes the next one (CreateDomain): a domain's customers are a
// range of order labels in (domain_number, last_key, first_key, id) order
// (order.go), so a new domain's come after every other's.
//
// The store's methods keep taking and giving domain ids. Reads join the
// domain (customersWithDomains, devicesWithCustomers) and filter on dm.id,
// which SQLite reads first, once a query; a search's hits are of the domain
// searched (hitColumns); counts, listings and label lookups use
// domainNumberSQL, one lookup a statement; writes bind the number, looked
// up once a domain a transaction (domainNumbers): a subquery for it in
// every insert made an import of a million 9 % slower.
const (
	// domainNumberSQL is the number of the domain whose id is the next
	// parameter (NULL for no such domain).
	domainNumberSQL = `(SELECT number FROM domains WHERE id = ?)`
	// customersWithDomains reads customers (c) with their domains (dm).
	customersWithDomains = `customers c JOIN domains dm ON dm.number = c.domain_number`
)

// domainNumbers holds the numbers of the domains a transaction's writes
// have looked up, by id.
type domainNumbers map[string]int64

// of returns the number of domain id: 0, which no domain has (a write under
// it fails the foreign key), for no such domain.
func (n domainNumbers) of(ctx context.Context, tx writer, id string) (int64, error) {
	if number, ok := n[id]; ok {
		return number, nil
	}
	var number int64
	err := tx.QueryRowContext(ctx, `SELECT number FROM domains WHERE id = ?`, id).Scan(&number)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	n[id] = number
	return number, nil
}
