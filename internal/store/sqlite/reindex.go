package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/iotconsole/bff/internal/domains"
)

// Domains implements customers.ReindexStore.
func (s *Store) Domains(ctx context.Context) ([]domains.Domain, error) {
	return s.domainsWhere(ctx, func(string) bool { return true }, `SELECT id, name FROM domains ORDER BY id`)
}

// searchTokenRulesKey is store_meta's key of customers.TokenRules.
const searchTokenRulesKey = "search_token_rules"

// SearchTokenRules implements customers.ReindexStore. While a bulk load
// defers the search index (DeferSearchIndex) it reports 0, so that a store
// whose load was interrupted gets its index built by the next
// customers.Reindex (every command opens the store through it).
func (s *Store) SearchTokenRules(ctx context.Context) (int, error) {
	if deferred, err := searchIndexDeferred(ctx, s.read); err != nil || deferred {
		return 0, mapErr(err)
	}
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

// KeepsSearchTokens implements customers.ReindexStore: this store keeps
// none (searchrows.go).
func (s *Store) KeepsSearchTokens() bool { return false }

// ReplaceSearchTokens implements customers.ReindexStore: nothing, since
// this store keeps no tokens; RebuildSearchIndex derives every customer's
// again.
func (s *Store) ReplaceSearchTokens(context.Context, map[string][]string) error { return nil }

// RebuildSearchIndex implements customers.ReindexStore: the FTS5 index is
// emptied ('delete-all') and filled again with every customer's tokens,
// derived again (fillSearchIndex), in label order, in one transaction, with labels compacted on the way
// (compactLabels): far cheaper than replacing a million rows one by one (each
// delete in a contentless-delete index adds a tombstone that merges must
// carry).
func (s *Store) RebuildSearchIndex(ctx context.Context) error {
	return s.compactLabels(ctx)
}

// searchIndexDeferredKey is store_meta's key that is present while bulk
// loads write customers without their search rows (DeferSearchIndex).
const searchIndexDeferredKey = "search_index_deferred"

// DeferSearchIndex implements what customers.DeferSearchIndex asks of a store
// before a bulk load. When the store has no customer yet and was opened
// DirLocked (no other process reads or writes it: a server started meanwhile
// is refused), the load's customers are written without search rows
// (ImportCustomers) and the compaction that follows the load
// (OptimizeAfterBulkLoad) builds the whole index at once, in label order: the
// rows' incremental index writes and merges were about 40 % of a load's time,
// and the compaction rebuilt the index anyway; their order labels are taken
// in turn, not between their neighbours' (allocateLabel), since the
// compaction puts every customer in order. Until then a search does not find
// them. If the load is interrupted, the index is built by the next
// OptimizeAfterBulkLoad (the same import run again) or the next
// customers.Reindex (every command and the server open the store through it;
// SearchTokenRules reports 0 meanwhile). A store that another process may
// read defers nothing: a server running beside the load finds each customer
// as it is written, and had found none of an interrupted load's until it was
// restarted.
//
// The name-order indexes (nameIndexes) wait too: their keys come in no order,
// so every write of a batch rewrote pages all over them, and compactLabels
// builds them in one pass. So do the unique indexes of the keys an import
// matches records by (keyIndexes): a million customers wrote 5.9 GB with
// them, 3.6 GB without (docs/BENCHMARKS.md, "Bulk import"). Meanwhile nothing
// in the store keeps two customers from one email: the loader must
// (imports.Importer rejects a record whose keys an earlier record of the file
// had; KeyIndexesDeferred tells it).
//
// Otherwise the load's customers are indexed as they are written, and FTS5's
// merges wait until the load ends (holdSearchMerges); key indexes an
// interrupted load left out are built first. It reports whether bulk loads
// now defer the index.
func (s *Store) DeferSearchIndex(ctx context.Context) (bool, error) {
	deferred := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var filled bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM customers)`).Scan(&filled); err != nil {
			return err
		}
		if filled || !s.dirLocked {
			if err := createIndexes(ctx, tx, keyIndexes); err != nil {
				return err
			}
			var err error // an interrupted deferred load may have left it on
			if deferred, err = searchIndexDeferred(ctx, tx); err != nil || deferred {
				return err
			}
			return holdSearchMerges(ctx, tx)
		}
		deferred = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO store_meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO NOTHING`, searchIndexDeferredKey); err != nil {
			return err
		}
		for _, ix := range slices.Concat(keyIndexes, nameIndexes) {
			if _, err := tx.ExecContext(ctx, `DROP INDEX IF EXISTS `+ix.name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("defer search index: %w", mapErr(err))
	}
	return deferred, nil
}

// searchIndexDeferred reports whether bulk loads defer the search index.
func searchIndexDeferred(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (bool, error) {
	var deferred bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM store_meta WHERE key = ?)`, searchIndexDeferredKey).Scan(&deferred)
	return deferred, err
}

// searchMergesHeldKey is store_meta's key that is present while a bulk load
// into a store with customers holds FTS5's merges back (holdSearchMerges).
const searchMergesHeldKey = "search_merges_held"

// heldCrisisMerge is FTS5's 'crisismerge' while merges are held: a level of
// the index is merged when it has this many segments. FTS5's default, 16:
// with 64, 100,000 customers into a million took 72 s instead of 77, but
// searches during an import had a p99 of 89 ms instead of 40.
const heldCrisisMerge = 16

// holdSearchMerges sets FTS5's 'automerge' to 0 and 'crisismerge' to
// heldCrisisMerge until releaseSearchMerges. A load into a store with
// customers relabels windows of them (spreadLabels), and FTS5 writes its
// pending rows out as a segment at every statement that moves several rows,
// then merged a little at each: 100,000 customers into a million took 124 s
// merging as they went, 77 s with merges only when a level has
// heldCrisisMerge segments and once at the end (docs/BENCHMARKS.md, "Bulk
// import"). The settings are the index's own, so they hold for every writer
// of the store, the server's too, meanwhile.
func holdSearchMerges(ctx context.Context, tx writer) error {
	for _, q := range []string{
		`INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 0)`,
		fmt.Sprintf(`INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', %d)`, heldCrisisMerge),
		`INSERT INTO store_meta (key, value) VALUES ('` + searchMergesHeldKey + `', '1') ON CONFLICT (key) DO NOTHING`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// releaseSearchMerges undoes holdSearchMerges, if it was done: FTS5's
// defaults again ('automerge' 4, 'crisismerge' 16), and one 'merge' of every
// level with 4 or more segments, as automerge would have done meanwhile
// (about 3 s after 100,000 customers added to a million).
// OptimizeAfterBulkLoad calls it, and Open, for a load that was interrupted.
func (s *Store) releaseSearchMerges(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM store_meta WHERE key = ?`, searchMergesHeldKey)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for _, q := range []string{
			`INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 4)`,
			`INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', 16)`,
			`INSERT INTO customer_search (customer_search, rank) VALUES ('merge', 1000000)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// index is an index's name and the statement that creates it if it does not
// exist.
type index struct{ name, create string }

// createIndexes creates those of ixs that do not exist.
func createIndexes(ctx context.Context, tx writer, ixs []index) error {
	for _, ix := range ixs {
		if _, err := tx.ExecContext(ctx, ix.create); err != nil {
			return err
		}
	}
	return nil
}

// keyIndexes are the unique indexes of the keys an import matches records
// by (customers' emails, by digest, and external ids, devices' serial
// numbers), as migration 24 defines them. A bulk load into an empty store
// opened DirLocked builds them at its end (DeferSearchIndex, compactLabels).
var keyIndexes = []index{
	{"customers_domain_email_digest", `CREATE UNIQUE INDEX IF NOT EXISTS customers_domain_email_digest ON customers (domain_number, email_digest)`},
	{"customers_domain_external_id", `CREATE UNIQUE INDEX IF NOT EXISTS customers_domain_external_id ON customers (domain_number, external_id) WHERE external_id != ''`},
	{"devices_domain_serial", `CREATE UNIQUE INDEX IF NOT EXISTS devices_domain_serial ON devices (domain_number, serial_number)`},
}

// KeyIndexesDeferred implements imports.KeyIndexDeferrer: whether a bulk
// load dropped the keyIndexes (DeferSearchIndex), so that the store holds
// only customers that load wrote, and looking a key up reads the whole table.
func (s *Store) KeyIndexesDeferred(ctx context.Context) (bool, error) {
	var present bool
	err := s.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?)`, keyIndexes[0].name).Scan(&present)
	if err != nil {
		return false, fmt.Errorf("key indexes deferred: %w", mapErr(err))
	}
	return !present, nil
}

// nameIndexes are the customers' indexes in name order that a deferred bulk
// load builds at its end (DeferSearchIndex, compactLabels), as migration 24
// defined them: the order of a domain's customers (listing, neighbours of a
// new label, the ranks of compactLabelsSQL) and of its customers of one status.
var nameIndexes = []index{
	{"customers_domain_name", `CREATE INDEX IF NOT EXISTS customers_domain_name ON customers (domain_number, last_key, first_key, id)`},
	{"customers_domain_status_name", statusNameIndexSQL},
}

// statusNameIndexSQL defines the index of a domain's customers of one status
// in name order, for the statuses that are not ACTIVE (migration 18; as
// migration 24 defines it, with statuses kept as numbers): a query uses it
// only when its WHERE clause holds the index's condition as written, so
// listings and counts by such a status add "status != 0" (activeStatus;
// SQLite's rule for partial indexes: https://sqlite.org/partialindex.html).
const statusNameIndexSQL = `CREATE INDEX IF NOT EXISTS customers_domain_status_name ON customers (domain_number, status, last_key, first_key, id)
	WHERE status != ` + activeStatus

// statusNameIndexSQLBefore23 is statusNameIndexSQL as migrations 18 and 22
// wrote it, before customers named their domain by number (migration 23).
const statusNameIndexSQLBefore23 = `CREATE INDEX IF NOT EXISTS customers_domain_status_name ON customers (domain_id, status, last_key, first_key, id)
	WHERE status != 'ACTIVE'`
