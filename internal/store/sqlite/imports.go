package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
)

// customersByExternalIDSQL is followed by " IN (...)". The index of
// external ids is partial (WHERE external_id != ”): SQLite uses it only
// for a query that says so too, and without it read the whole domain for
// every batch of an import (an import with external ids slowed as the store
// grew: 660 records/s at 300,000 customers).
const customersByExternalIDSQL = `SELECT ` + customerColumns + ` FROM ` + customersWithDomains + ` WHERE dm.id = ? AND c.external_id != '' AND c.external_id`

// customersByEmailSQL (of emails' digests, see emailDigest) and
// devicesBySerialSQL are followed by " IN (...)".
const (
	customersByEmailSQL = `SELECT ` + customerColumns + ` FROM ` + customersWithDomains + ` WHERE dm.id = ? AND c.email_digest`
	devicesBySerialSQL  = `SELECT ` + deviceColumns + ` FROM ` + devicesWithCustomers + ` WHERE dm.id = ? AND d.serial_number`
)

// CustomersByImportKeys implements imports.Store: the domain's customers
// whose external id is one of externalIDs or whose email is one of emails.
func (s *Store) CustomersByImportKeys(ctx context.Context, domainID string, externalIDs, emails []string) ([]customers.Customer, error) {
	scan := func(row interface{ Scan(...any) error }) (customers.Customer, error) {
		c, _, err := scanCustomer(row)
		return c, err
	}
	byExternal, err := byIDsAfter(ctx, s, customersByExternalIDSQL, ``, []any{domainID}, externalIDs, scan)
	if err != nil {
		return nil, fmt.Errorf("customers by external id: %w", err)
	}
	byDigest, err := byKeys(ctx, s, customersByEmailSQL, ``, []any{domainID}, emails, func(email string) any { return emailDigest(email) }, scan)
	if err != nil {
		return nil, fmt.Errorf("customers by email: %w", err)
	}
	asked := make(map[string]bool, len(emails))
	for _, e := range emails {
		asked[e] = true
	}
	byEmail := slices.DeleteFunc(byDigest, func(c customers.Customer) bool { return !asked[c.Email] }) // a digest can be another email's
	return append(byExternal, byEmail...), nil
}

// DevicesBySerialNumbers implements imports.Store.
func (s *Store) DevicesBySerialNumbers(ctx context.Context, domainID string, serials []string) ([]devices.Device, error) {
	ds, err := byIDsAfter(ctx, s, devicesBySerialSQL, ``, []any{domainID}, serials, scanDevice)
	if err != nil {
		return nil, fmt.Errorf("devices by serial number: %w", err)
	}
	return ds, nil
}

// DevicesOfCustomers implements imports.ExportStore: the devices of the
// customers ids, in no particular order.
func (s *Store) DevicesOfCustomers(ctx context.Context, ids []string) ([]devices.Device, error) {
	ds, err := byStoredIDs(ctx, s, `SELECT `+deviceColumns+` FROM `+devicesWithCustomers+` WHERE c.id`, ids, scanDevice)
	if err != nil {
		return nil, fmt.Errorf("devices of customers: %w", err)
	}
	return ds, nil
}

// CustomersAfter implements imports.ExportStore: up to limit customers of
// the domain with ids above afterID, in id order. The unary + keeps SQLite
// from choosing an index that leads with the domain, which would read and sort
// every customer of the domain for each page: the id index is walked from
// afterID instead.
func (s *Store) CustomersAfter(ctx context.Context, domainID, afterID string, limit int) ([]customers.Customer, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+customerColumns+` FROM `+customersWithDomains+` WHERE +dm.id = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
		domainID, idKey(afterID), limit)
	if err != nil {
		return nil, fmt.Errorf("customers after %s: %w", afterID, mapErr(err))
	}
	defer rows.Close()
	var out []customers.Customer
	for rows.Next() {
		c, _, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("customers after %s: %w", afterID, err)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err())
}

// ImportCustomers implements imports.Store: the new customers and their
// devices in one transaction, so that an interrupted import leaves whole
// customers only. While a bulk load defers the search index
// (DeferSearchIndex), the customers get no search rows: the compaction at
// the load's end builds the index whole. Otherwise a customer given
// without search tokens gets those customers.SearchTokens derives (see
// DerivesSearchTokens). It returns apperr.ErrConflict, writing nothing, when an
// email, external id or serial number is taken.
func (s *Store) ImportCustomers(ctx context.Context, cs []customers.Customer, ds []devices.Device) error {
	// In name order, each insertion's neighbours and index pages are the
	// ones the previous insertion just read. (Sorted by pointer: a
	// customer is a few hundred bytes to swap.)
	type keyed struct {
		domain, last, first, id string
		c                       *customers.Customer
	}
	sorted := make([]keyed, len(cs))
	for i := range cs {
		c := &cs[i]
		last, first := customers.SortKeys(*c)
		sorted[i] = keyed{c.DomainID, last, first, c.ID, c}
	}
	slices.SortFunc(sorted, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.domain, b.domain), cmp.Compare(a.last, b.last), cmp.Compare(a.first, b.first), cmp.Compare(a.id, b.id))
	})
	// The tokens of the customers' names for their domains' vocabularies
	// (addToVocabulary), counted on another core while this one writes
	// (customers.NameTokens folds and transliterates: 2 of the 40 s of the
	// writes of the demo million).
	names := sync.OnceValue(func() map[string]map[string]int { return nameTokenCounts(cs) })
	go names()
	err := s.inTx(ctx, func(plain *sql.Tx) error {
		tx := newBulkTx(plain)
		defer tx.close()
		deferred, err := searchIndexDeferred(ctx, tx)
		if err != nil {
			return err
		}
		var next, rid int64 // while the index is deferred, the next label (allocateLabel's, counted here) and the largest rid
		if deferred {
			if next, err = nextDeferredLabel(ctx, tx); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(rid), 0) FROM customers`).Scan(&rid); err != nil {
				return err
			}
		}
		later := &laterSearchRows{}
		devicesOf := map[string][]devices.Device{}
		for _, d := range ds {
			devicesOf[d.CustomerID] = append(devicesOf[d.CustomerID], d)
		}
		numbers := domainNumbers{}
		regions := map[string]string{} // domain id -> default region, for customers given without tokens
		// While the index is deferred, the customers' rows are written
		// together under the rids after the largest, rowsPerStatement a
		// statement (customerValues); otherwise one at a time, each under
		// the label its neighbours leave it. Their devices are written
		// after them, in their order: stored so, they are read so too
		// (deviceKeysSQL).
		var customerValues, deviceValues []any
		for _, k := range sorted {
			c := *k.c
			domain, err := numbers.of(ctx, tx, c.DomainID)
			if err != nil {
				return err
			}
			if deferred {
				rid++
				customerValues = append(customerValues, customerRow(c, rid, domain, k.last, k.first, next)...)
				next++
			} else {
				if c.SearchTokens == nil {
					if c.SearchTokens, err = deriveSearchTokens(ctx, tx, c, devicesOf[c.ID], regions); err != nil {
						return err
					}
				}
				if rid, err = later.insertCustomer(ctx, tx, c, domain, k.last, k.first); err != nil {
					return err
				}
			}
			for _, d := range devicesOf[c.ID] {
				deviceDomain, err := numbers.of(ctx, tx, d.DomainID)
				if err != nil {
					return err
				}
				deviceValues = append(deviceValues, deviceRow(d, deviceDomain, sql.NullInt64{Int64: rid, Valid: true})...)
			}
			delete(devicesOf, c.ID)
		}
		if _, err := customerInsert.write(ctx, tx, customerValues); err != nil {
			return err
		}
		if _, err := deviceInsert.write(ctx, tx, deviceValues); err != nil { // their domain's search version moves below
			return err
		}
		if err := later.write(ctx, tx); err != nil {
			return err
		}
		for domainID, counts := range names() {
			if err := addToVocabulary(ctx, tx, domainID, counts); err != nil {
				return err
			}
			if err := bumpSearchVersion(ctx, tx, domainID); err != nil {
				return err
			}
		}
		for _, others := range devicesOf { // devices of customers stored before
			if err := insertDevices(ctx, tx, others); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import customers: %w", mapErr(err))
	}
	return nil
}

// nameTokenCounts returns, domain by domain, how many of cs have each token
// of their names (customers.NameTokens).
func nameTokenCounts(cs []customers.Customer) map[string]map[string]int {
	counts := map[string]map[string]int{} // domain id -> token -> customers
	for _, c := range cs {
		if counts[c.DomainID] == nil {
			counts[c.DomainID] = map[string]int{}
		}
		for _, token := range customers.NameTokens(c.FirstName, c.LastName) {
			counts[c.DomainID][token]++
		}
	}
	return counts
}

// DerivesSearchTokens implements imports.SearchTokenDeriver: ImportCustomers
// derives the tokens of a customer given without them, so an import whose
// load defers the index need not derive any (the compaction derives them
// all again).
func (s *Store) DerivesSearchTokens() bool { return true }

// deriveSearchTokens returns c's search tokens with ds, its devices, read
// with its domain's default region (remembered in regions).
func deriveSearchTokens(ctx context.Context, tx writer, c customers.Customer, ds []devices.Device, regions map[string]string) ([]string, error) {
	region, ok := regions[c.DomainID]
	if !ok {
		if err := tx.QueryRowContext(ctx, `SELECT default_region FROM domains WHERE id = ?`, c.DomainID).Scan(&region); err != nil {
			return nil, err
		}
		regions[c.DomainID] = region
	}
	return customers.SearchTokens(c, ds, region), nil
}

// RehashPassword implements sessions.Store: the customer's password hash
// becomes newHash if it still is oldHash. It is not a change of the
// customer: the version, the sessions and the events stay as they are.
func (s *Store) RehashPassword(ctx context.Context, customerID, oldHash, newHash string) error {
	if _, err := s.write.ExecContext(ctx, `UPDATE customers SET password_hash = ? WHERE id = ? AND password_hash = ?`,
		hashKey(newHash), idKey(customerID), hashKey(oldHash)); err != nil {
		return fmt.Errorf("rehash password of %s: %w", customerID, mapErr(err))
	}
	return nil
}

// MostDevicesOfACustomer implements imports.ExportStore.
func (s *Store) MostDevicesOfACustomer(ctx context.Context, domainID string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM devices WHERE domain_number = `+domainNumberSQL+` GROUP BY customer_rid)`,
		domainID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("most devices of a customer: %w", mapErr(err))
	}
	return n, nil
}
