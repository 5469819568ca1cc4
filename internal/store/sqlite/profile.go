package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/iotconsole/bff/internal/customers"
)

// profileSets returns the SET clauses and arguments of u's profile fields.
func profileSets(u customers.Update) ([]string, []any) {
	var sets []string
	var args []any
	for _, f := range []struct {
		column string
		value  *string
	}{{"first_name", u.FirstName}, {"last_name", u.LastName}, {"email", u.Email}, {"phone", u.Phone}} {
		if f.value != nil {
			sets, args = append(sets, f.column+" = ?"), append(args, *f.value)
		}
	}
	if u.Email != nil {
		sets, args = append(sets, "email_digest = ?"), append(args, emailDigest(*u.Email))
	}
	if u.Phone != nil {
		sets, args = append(sets, "phone_region = ?"), append(args, u.PhoneRegion)
	}
	if u.FirstName != nil && u.LastName != nil {
		lastKey, firstKey := customers.SortKeys(customers.Customer{FirstName: *u.FirstName, LastName: *u.LastName})
		sets, args = append(sets, "last_key = ?", "first_key = ?"), append(args, lastKey, firstKey)
	}
	return sets, args
}

// reindexCustomer keeps the search index in step with a profile change
// already written in tx: the customer's customer_search row holds its new
// tokens, and after a change of name its order label (sort_seq, the row's
// rowid) lies between its new neighbours' in name order (see order.go).
func reindexCustomer(ctx context.Context, tx *sql.Tx, u customers.Update) error {
	if u.SearchTokens == nil {
		return nil
	}
	renamed := u.FirstName != nil && u.LastName != nil
	var domain int64
	if err := tx.QueryRowContext(ctx, `SELECT domain_number FROM customers WHERE id = ?`, idKey(u.ID)).Scan(&domain); err != nil {
		return err
	}
	var label int64
	if renamed {
		// The row already has its new sort keys, so it is not its own
		// neighbour; its old label is the only one between the new
		// neighbours' labels, so the label found is free or its own.
		// Relabelling a window may move the row too: its label is read after.
		lastKey, firstKey := customers.SortKeys(customers.Customer{FirstName: *u.FirstName, LastName: *u.LastName})
		var err error
		if label, err = allocateLabel(ctx, tx, orderKey{domain, lastKey, firstKey, u.ID}); err != nil {
			return err
		}
	}
	var current int64
	if err := tx.QueryRowContext(ctx, `SELECT sort_seq FROM customers WHERE id = ?`, idKey(u.ID)).Scan(&current); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid = ?`, current); err != nil {
		return err
	}
	if !renamed {
		label = current
	} else if label != current {
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET sort_seq = ? WHERE id = ?`, label, idKey(u.ID)); err != nil {
			return err
		}
	}
	return indexCustomer(ctx, tx, label, u.SearchTokens)
}

// emailTaken returns customers.ErrEmailTaken for err, the failure of an
// update of a customer that sets its email, when it is a unique constraint's:
// the only unique index such an update can break is the domain's emails.
func emailTaken(u customers.Update, err error) error {
	var se *sqlite.Error
	if u.Email != nil && errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return customers.ErrEmailTaken
	}
	return err
}
