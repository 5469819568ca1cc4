package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/faults"
)

// Erasing leaves nothing of the customer in the files:
//
//   - every connection runs with secure_delete on (see Open), so SQLite
//     overwrites with zeros what a write frees: cells, index entries, pages;
//   - the search index is rewritten in the same transaction (FTS5
//     'optimize'): in a contentless_delete table a deleted row's entries
//     are only masked by a tombstone until a merge rewrites their segment
//     (FTS5's own secure-delete option does not apply to such tables, and
//     they refuse the 'delete' command that would name the entries), and
//     the masked entries of the customer's earlier tokens (a corrected
//     email, a relabelling) are there too. The rewrite costs about one
//     second per 50,000 customers, during which other writes wait;
//   - after the commit a checkpoint copies the write-ahead log into the
//     database and truncates it, so that the log's older page images, which
//     still hold the customer, go too.

// DeleteCustomer implements customers.Eraser: one transaction deletes the
// customer's devices, sessions, data key, search row and row, rewrites the
// search index and writes the audit record and events; then clearLog.
func (s *Store) DeleteCustomer(ctx context.Context, e customers.Erasure) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var label int64
		err := tx.QueryRowContext(ctx, `SELECT sort_seq FROM customers WHERE id = ? AND version = ?`, idKey(e.ID), e.Version).Scan(&label)
		if errors.Is(err, sql.ErrNoRows) {
			return missed(ctx, tx, "customers", idKey(e.ID))
		}
		if err != nil {
			return err
		}
		if err := uncountCustomer(ctx, tx, e.ID); err != nil {
			return err
		}
		if err := bumpSearchVersionOf(ctx, tx, e.ID); err != nil {
			return err
		}
		for _, del := range []struct {
			query string
			arg   any
		}{
			{`DELETE FROM devices WHERE customer_rid = (SELECT rid FROM customers WHERE id = ?)`, idKey(e.ID)},
			{`DELETE FROM sessions WHERE subject_id = ? AND kind != 'operator'`, e.ID}, // its own and its assistance's
			{`DELETE FROM customer_keys WHERE customer_id = ?`, e.ID},
			{`DELETE FROM customer_search WHERE rowid = ?`, label},
			{`DELETE FROM customers WHERE id = ?`, idKey(e.ID)},
		} {
			if _, err := tx.ExecContext(ctx, del.query, del.arg); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_search (customer_search) VALUES ('optimize')`); err != nil {
			return err
		}
		if err := writeRecords(ctx, tx, e.Audit, e.Events...); err != nil {
			return err
		}
		faults.Crash(faults.AfterCustomerChange)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete customer %s: %w", e.ID, mapErr(err))
	}
	if err := s.clearLog(ctx); err != nil {
		return fmt.Errorf("delete customer %s: %w", e.ID, err)
	}
	return nil
}

// clearLog copies the whole write-ahead log into the database and truncates
// it to zero bytes. It waits for readers up to the busy timeout; a reader
// that holds an older snapshot longer makes it return an error wrapping
// customers.ErrLogNotCleared (a later checkpoint, or closing the store,
// clears the log).
func (s *Store) clearLog(ctx context.Context) error {
	var busy, frames, copied int
	if err := s.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("checkpoint: %w: %w", customers.ErrLogNotCleared, mapErr(err))
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint: a reader kept the log (%d of %d frames copied): %w", copied, frames, customers.ErrLogNotCleared)
	}
	return nil
}
