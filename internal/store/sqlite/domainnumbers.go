package sqlite

// Customers and devices name their domain by its number, domains.number
// (migration 23), a small integer stored in one or two bytes, instead of its
// id, the 12-character text the API and every other table use: the domain
// is in every customer's and device's row and leads four of their indexes,
// about 70 bytes a customer (docs/BENCHMARKS.md, "Twentieth round").
//
// Numbers follow the order of the domains' ids at the migration, and a new
// domain takes the next one (createDomainSQL): a domain's customers are a
// range of order labels in (domain_number, last_key, first_key, id) order
// (order.go), so a new domain's come after every other's, as they would
// have with ids in the order domains were made.
//
// Queries keep taking and giving domain ids: domainNumberSQL turns the id
// a query is given into the number, and the domainIDOf expressions read the
// id back, from the few rows of domains, by its unique index.
const (
	// domainNumberSQL is the number of the domain whose id is the next
	// parameter (NULL for no such domain).
	domainNumberSQL = `(SELECT number FROM domains WHERE id = ?)`
	// customerDomainID is the id of customer c's domain.
	customerDomainID = `(SELECT id FROM domains WHERE number = c.domain_number)`
	// deviceDomainID is the id of device d's domain.
	deviceDomainID = `(SELECT id FROM domains WHERE number = d.domain_number)`
)
