package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// searchVersionsSQL creates search_versions, one row per domain whose version
// grows with every committed change that can change a search result of the
// domain: a customer created, erased or changed in anything but its password
// hash and order label (neither is in a result), devices added or removed
// (what a search matched reads them), the search index rebuilt (it may then
// hold customers a deferred load left out: compactLabels moves every
// domain's). Each write path moves it in its own transaction, once per
// domain (bumpSearchVersion, bumpSearchVersionOf), not by triggers: a
// trigger made every insert a multi-row statement, which SQLite protects with
// a statement journal, and an import 20 % slower. A row is created by a
// domain's first change.
const searchVersionsSQL = `
CREATE TABLE search_versions (
	domain_id TEXT PRIMARY KEY,
	version   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO search_versions (domain_id, version) SELECT DISTINCT domain_id, 1 FROM customers;
`

const bumpSearchVersionSQL = `INSERT INTO search_versions (domain_id, version) VALUES (?, 1)
	ON CONFLICT (domain_id) DO UPDATE SET version = version + 1`

// bumpSearchVersion moves the search version of each of domainIDs in tx.
func bumpSearchVersion(ctx context.Context, tx writer, domainIDs ...string) error {
	for _, id := range domainIDs {
		if _, err := tx.ExecContext(ctx, bumpSearchVersionSQL, id); err != nil {
			return err
		}
	}
	return nil
}

// bumpSearchVersionOf moves the search version of customer id's domain in tx
// (nothing when there is no such customer). The domain has its row: a
// customer's insertion creates it (bumpSearchVersion), and migration 17
// created those of the customers before it. A plain update: the upsert
// this replaces was 6 % of a status change's CPU.
func bumpSearchVersionOf(ctx context.Context, tx writer, customerID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE search_versions SET version = version + 1
		WHERE domain_id = (SELECT dm.id FROM `+customersWithDomains+` WHERE c.id = ?)`, idKey(customerID))
	return err
}

// SearchVersion returns the domain's search version: a count that grows with
// every committed change that can change one of its search results (see
// searchVersionsSQL), 0 before the first. Equal versions read before two
// searches mean no such change was committed in between, whichever process
// wrote it.
func (s *Store) SearchVersion(ctx context.Context, domainID string) (int64, error) {
	var v int64
	// Prepared once (readStmt): every search reads it, and SQLite's parser
	// was 3 % of a search's CPU with it prepared anew each time.
	err := s.queryRow(ctx, `SELECT version FROM search_versions WHERE domain_id = ?`, []any{domainID}, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search version: %w", err)
	}
	return v, nil
}
