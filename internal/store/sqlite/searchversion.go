package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// searchVersionsSQL creates search_versions, one row per domain whose count
// grows with every committed change that can change a search result of the
// domain: a customer created, erased or changed in anything but its password
// hash and order label (neither is in a result), a device created, removed or
// renamed (what a search matched reads devices). Triggers move it, so every
// write path (this process's, an import in another process, a migration) is
// covered; compactLabels moves every domain's too, since a rebuilt index may
// hold customers a deferred load left out. A row is created by a domain's
// first change.
const searchVersionsSQL = `
CREATE TABLE search_versions (
	domain_id TEXT PRIMARY KEY,
	version   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER customers_insert_search_version AFTER INSERT ON customers BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (NEW.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER customers_delete_search_version AFTER DELETE ON customers BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (OLD.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER customers_update_search_version AFTER UPDATE OF
	id, domain_id, external_id, first_name, last_name, email, phone, status, search_tokens,
	must_change_password, session_epoch, version, created_at, updated_at ON customers BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (NEW.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER devices_insert_search_version AFTER INSERT ON devices BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (NEW.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER devices_delete_search_version AFTER DELETE ON devices BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (OLD.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER devices_update_search_version AFTER UPDATE OF
	id, domain_id, customer_id, name, model, serial_number, mac_address ON devices BEGIN
	INSERT INTO search_versions (domain_id, version) VALUES (NEW.domain_id, 1)
		ON CONFLICT (domain_id) DO UPDATE SET version = version + 1;
END;
`

// SearchVersion returns the domain's search version: a count that grows with
// every committed change that can change one of its search results (see
// searchVersionsSQL), 0 before the first. Equal versions read before two
// searches mean no such change was committed in between, whichever process
// wrote it.
func (s *Store) SearchVersion(ctx context.Context, domainID string) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT version FROM search_versions WHERE domain_id = ?`, domainID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("search version: %w", err)
	}
	return v, nil
}
