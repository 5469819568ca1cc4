package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/iotconsole/bff/internal/apperr"
)

// Every customer has an order label, customers.sort_seq, which is also its
// customer_search rowid. Labels are kept in the same order as the customers'
// (last_key, first_key, id) across all domains, so FTS5, which returns matches
// in rowid order, returns them in name order: a page of search results costs
// about its own size however many customers match.
//
// A new customer gets a label between its neighbours' labels. When two
// neighbours' labels are adjacent, a window of labels around them is spread
// out again (the classic order-maintenance scheme); with 2^62 labels for at
// most millions of customers that is rare: a customer after the last (or
// before the first) takes a step of labelStep (or a 1/2^endShift share of
// the room left on that side when that is less), a customer between two
// takes the middle of their gap, and one with the same name as the customer
// just before it (customers of one name are ordered by id, and ids grow, so
// a load adds them one after the other at the same place) takes a
// 1/2^sameNameShift share of the gap (at least 1), not half of it, so that
// the next one of that name still finds room.
//
// Labels are kept close together on purpose: FTS5 stores the customers of
// each token as the differences between consecutive rowids, as varints, so
// the index grows with the gaps. At a million customers the search index
// took 844 MiB with labels 2^41 apart and 410 MiB with labels 2^6 apart
// (docs/BENCHMARKS.md, "Disk").
const (
	minLabel = -(1 << 61)
	maxLabel = 1 << 61
	// labelStep is the gap a load in name order leaves between labels, and
	// the one migration 16 gives: room for 6 halvings (customers added one
	// by one at the same place in the order) before a window is spread.
	labelStep = 1 << 6
	// endShift: near an end of the range, 2^20 customers appended in name
	// order use about 63% of the room left (1 - 1/e).
	endShift = 20
	// sameNameShift: 256 customers of one name use about 63% of their gap.
	sameNameShift = 8
	// relabelOffset moves labels out of the allocation range while a window is
	// rewritten, so the unique constraint never sees two equal labels.
	relabelOffset = 1<<62 + 1
)

type orderKey struct{ last, first, id string }

// neighbourLabels returns the labels of the customers just before and after k
// in name order, or minLabel-1 / maxLabel+1 when there is none, and whether
// the one before has k's name.
func neighbourLabels(ctx context.Context, tx writer, k orderKey) (before, after int64, sameName bool, err error) {
	before, after = minLabel-1, maxLabel+1
	var last, first string
	err = mapErr(tx.QueryRowContext(ctx, `SELECT sort_seq, last_key, first_key FROM customers WHERE (last_key, first_key, id) < (?, ?, ?)
		ORDER BY last_key DESC, first_key DESC, id DESC LIMIT 1`, k.last, k.first, k.id).Scan(&before, &last, &first))
	sameName = err == nil && last == k.last && first == k.first
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return 0, 0, false, err
	}
	err = mapErr(tx.QueryRowContext(ctx, `SELECT sort_seq FROM customers WHERE (last_key, first_key, id) > (?, ?, ?)
		ORDER BY last_key, first_key, id LIMIT 1`, k.last, k.first, k.id).Scan(&after))
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return 0, 0, false, err
	}
	return before, after, sameName, nil
}

// allocateLabel returns a free label for a customer with key k, relabelling
// a window of neighbours if their labels leave no room.
func allocateLabel(ctx context.Context, tx writer, k orderKey) (int64, error) {
	for window := 32; ; window *= 4 {
		before, after, sameName, err := neighbourLabels(ctx, tx, k)
		if err != nil {
			return 0, err
		}
		switch {
		case before < minLabel && after > maxLabel:
			return 0, nil
		case after > maxLabel && maxLabel-before >= 2:
			return before + max(1, min(labelStep, (maxLabel-before)>>endShift)), nil
		case before < minLabel && after-minLabel >= 2:
			return after - max(1, min(labelStep, (after-minLabel)>>endShift)), nil
		case after-before >= 2 && sameName:
			return before + max(1, (after-before)>>sameNameShift), nil
		case after-before >= 2:
			return before + (after-before)/2, nil
		}
		if window > 1<<20 {
			return 0, errors.New("no room left in the customer order")
		}
		if err := spreadLabels(ctx, tx, before, window); err != nil {
			return 0, fmt.Errorf("relabel customers: %w", err)
		}
	}
}

// spreadLabels takes up to window labels on each side of label at (inclusive)
// and spreads them evenly over the room between the labels just outside.
func spreadLabels(ctx context.Context, tx writer, at int64, window int) error {
	lower, err := labels(ctx, tx, `SELECT sort_seq FROM customers WHERE sort_seq <= ? ORDER BY sort_seq DESC LIMIT ?`, at, window+1)
	if err != nil {
		return err
	}
	upper, err := labels(ctx, tx, `SELECT sort_seq FROM customers WHERE sort_seq > ? ORDER BY sort_seq LIMIT ?`, at, window+1)
	if err != nil {
		return err
	}
	lo, hi := int64(minLabel-1), int64(maxLabel+1)
	if len(lower) > window {
		lo, lower = lower[window], lower[:window]
	}
	if len(upper) > window {
		hi, upper = upper[window], upper[:window]
	}
	var moving []int64 // ascending
	for i := len(lower) - 1; i >= 0; i-- {
		moving = append(moving, lower[i])
	}
	moving = append(moving, upper...)
	slots := int64(len(moving) + 2) // one gap on each side of every label, room for the newcomer
	step := (hi - lo) / slots
	if step < 2 {
		return nil // no room here: the caller widens the window
	}
	for _, l := range moving {
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET sort_seq = sort_seq + ? WHERE sort_seq = ?`, int64(relabelOffset), l); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid = ?`, l); err != nil {
			return err
		}
	}
	for i, l := range moving {
		pos := int64(i + 1)
		if i >= len(lower) {
			pos++ // the gap just after `at` is the newcomer's
		}
		label := lo + step*pos
		var domainID, tokens string
		err := tx.QueryRowContext(ctx, `UPDATE customers SET sort_seq = ? WHERE sort_seq = ? RETURNING domain_id, search_tokens`,
			label, l+relabelOffset).Scan(&domainID, &tokens)
		if err != nil {
			return err
		}
		if err := indexCustomer(ctx, tx, label, domainID, strings.Fields(tokens)); err != nil {
			return err
		}
	}
	return nil
}

func labels(ctx context.Context, tx writer, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// indexCustomer writes a customer's search row under its label.
func indexCustomer(ctx context.Context, tx writer, label int64, domainID string, tokens []string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_search (rowid, tokens) VALUES (?, ?)`,
		label, domainMarker(domainID)+" "+strings.Join(tokens, " "))
	return err
}
