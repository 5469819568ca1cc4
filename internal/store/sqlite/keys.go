package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/iotconsole/bff/internal/shred"
)

// CustomerKey implements customers.KeyStore: an insert that keeps the key
// already there, then a read of the one kept, in one transaction.
func (s *Store) CustomerKey(ctx context.Context, customerID string) ([]byte, error) {
	var key []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customer_keys (customer_id, key, created_at) VALUES (?, ?, ?)
			ON CONFLICT (customer_id) DO NOTHING`, customerID, shred.NewKey(), millis(time.Now()))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT key FROM customer_keys WHERE customer_id = ?`, customerID).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("data key of customer %s: %w", customerID, mapErr(err))
	}
	return key, nil
}

// CustomerKeys implements customers.KeyStore.
func (s *Store) CustomerKeys(ctx context.Context, customerIDs []string) (map[string][]byte, error) {
	type row struct {
		id  string
		key []byte
	}
	rows, err := byIDs(ctx, s, `SELECT customer_id, key FROM customer_keys WHERE customer_id`, ``, customerIDs,
		func(r interface{ Scan(...any) error }) (row, error) {
			var out row
			return out, mapErr(r.Scan(&out.id, &out.key))
		})
	if err != nil {
		return nil, fmt.Errorf("data keys of %d customers: %w", len(customerIDs), err)
	}
	keys := make(map[string][]byte, len(rows))
	for _, r := range rows {
		keys[r.id] = r.key
	}
	return keys, nil
}

// DeleteCustomerKey implements customers.KeyStore.
func (s *Store) DeleteCustomerKey(ctx context.Context, customerID string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM customer_keys WHERE customer_id = ?`, customerID); err != nil {
		return fmt.Errorf("delete data key of customer %s: %w", customerID, mapErr(err))
	}
	return nil
}
