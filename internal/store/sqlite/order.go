package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/iotconsole/bff/internal/apperr"
)

// Every customer has an order label, customers.sort_seq, which is also its
// customer_search rowid. Labels are kept in the same order as the customers'
// (domain_number, last_key, first_key, id) (domainnumbers.go), so FTS5, which returns matches in
// rowid order, returns a domain's matches in name order: a page of search
// results costs about its own size however many customers match. Domain by
// domain, so that a domain's labels are close together (see below) and one
// index, customers_domain_name, finds neighbours and lists a domain.
//
// A new customer gets a label between its neighbours' labels. When two
// neighbours' labels are adjacent, a window of labels around them is spread
// out again (the classic order-maintenance scheme); with 2^62 labels for at
// most millions of customers that is rare, as long as labels use the whole
// range: a customer after the last (or before the first) takes a
// 1/2^endShift share of the room left on that side, a customer between two
// takes the middle of their gap, and one with the same name as the customer
// just before it (customers of one name are ordered by id, and ids grow, so
// a load adds them one after the other at the same place) takes a
// 1/2^sameNameShift share of the gap, not half of it, so that the next one of
// that name still finds room.
//
// Far apart labels make a large search index, though: FTS5 stores the
// customers of each token as the differences between consecutive rowids, as
// varints. So after a bulk load, while labels are sparse,
// OptimizeAfterBulkLoad gives every customer a label labelStep from the next
// (compactLabels) and builds the index again: at a million customers 844 MiB with labels 2^41 apart, 410 MiB
// with labels 2^6 apart (docs/BENCHMARKS.md, "Disk"). Customers added later
// take the middles of those gaps, and windows spread as usual.
const (
	minLabel = -(1 << 61)
	maxLabel = 1 << 61
	// labelStep is the gap compactLabelsSQL leaves between labels: room for 6
	// customers added one by one at the same place before a window spreads.
	labelStep = 1 << 6
	// endShift: 2^20 customers appended in name order use about 63% of
	// the room on one side (1 - 1/e), a step of 2^41 at first.
	endShift = 20
	// sameNameShift: 256 customers of one name use about 63% of their gap.
	sameNameShift = 8
	// maxWindow is the widest window of labels spread on each side of a new
	// customer's place (windows grow 32, 128, 512...): 2^19 customers.
	maxWindow = 1 << 19
	// maxMinStep caps the room a spread must leave between labels (see
	// allocateLabel): half of labelStep, so that the labels of a compacted
	// store always satisfy it.
	maxMinStep = labelStep / 2
	// relabelOffset moves labels out of the allocation range while a window is
	// rewritten, so the unique constraint never sees two equal labels; a
	// bulk load that defers the search index takes its labels from there
	// too, so that its compaction need not move them out of the way.
	relabelOffset = 1<<62 + 1
)

// orderKey is a customer's place in the order: domain by domain (by
// number, see domainnumbers.go), then (last_key, first_key, id).
type orderKey struct {
	domain          int64
	last, first, id string
}

// compare orders a and b as the labels do.
func (a orderKey) compare(b orderKey) int {
	return cmp.Or(cmp.Compare(a.domain, b.domain), cmp.Compare(a.last, b.last), cmp.Compare(a.first, b.first), cmp.Compare(a.id, b.id))
}

// neighbourLabels returns the labels of the customers just before and after k
// in name order, or minLabel-1 / maxLabel+1 when there is none, and whether
// the one before has k's name. One statement: the customer after is the
// one with the next label (labels follow name order), read from the labels'
// own index, not by a second seek into the name index and the table (the
// import of 100,000 customers more into a million makes 100,000 of these).
// For a renamed customer (whose row has its new name and still its old
// label) the next label may be its own old one: the label found between is
// then nearer, still in order.
func neighbourLabels(ctx context.Context, tx writer, k orderKey) (before, after int64, sameName bool, err error) {
	before, after = minLabel-1, maxLabel+1
	var domain int64
	var last, first string
	var next sql.NullInt64
	err = mapErr(tx.QueryRowContext(ctx, `SELECT b.sort_seq, b.domain_number, b.last_key, b.first_key,
			(SELECT sort_seq FROM customers WHERE sort_seq > b.sort_seq ORDER BY sort_seq LIMIT 1)
		FROM (SELECT sort_seq, domain_number, last_key, first_key FROM customers
			WHERE (domain_number, last_key, first_key, id) < (?, ?, ?, ?)
			ORDER BY domain_number DESC, last_key DESC, first_key DESC, id DESC LIMIT 1) AS b`,
		k.domain, k.last, k.first, idKey(k.id)).Scan(&before, &domain, &last, &first, &next))
	switch {
	case errors.Is(err, apperr.ErrNotFound): // k comes first
		err = tx.QueryRowContext(ctx, `SELECT MIN(sort_seq) FROM customers`).Scan(&next)
	case err == nil:
		sameName = domain == k.domain && last == k.last && first == k.first
	}
	if err != nil {
		return 0, 0, false, err
	}
	if next.Valid {
		after = next.Int64
	}
	return before, after, sameName, nil
}

// allocateLabel returns a free label for a customer with key k, relabelling
// a window of neighbours if their labels leave no room. Windows widen 4 times
// at a time, and a wider window must leave more room between its labels (4
// at 32 customers a side, then 8, 16, and 32 from 2,048 on: the thresholds
// of order maintenance, Bender et al., "Two simplified algorithms for
// maintaining order in a list", 2002), so that a region that has filled up
// is spread once over a wide window, not again at every insert: a store
// compacted at 300 customers and grown to 15,300 of the demo generator's
// rewrote 228 rows a customer with the same threshold at every width, 18
// with these (TestLabelsMakeRoomForAStoreThatGrowsManyTimesOver). While bulk loads
// defer the search index (DeferSearchIndex), the next label after the
// largest, out of name order until the load's compaction.
func allocateLabel(ctx context.Context, tx writer, k orderKey) (int64, error) {
	if deferred, err := searchIndexDeferred(ctx, tx); err != nil || deferred {
		if err != nil {
			return 0, err
		}
		// A bulk load into an empty store: the compaction at its end puts
		// every customer in order, so the next label will do (neighbours
		// cost 18 % of a load's writes), from relabelOffset on: out of the
		// compaction's way, which then rewrites every customer once, not
		// twice (8 s less at a million).
		return nextDeferredLabel(ctx, tx)
	}
	return orderedLabel(ctx, tx, k, nil)
}

// orderedLabel is allocateLabel for a transaction that found the search
// index not deferred: a label between k's neighbours. A window of labels
// spread on the way has its search rows written again at once, or, with
// later, at later's write.
func orderedLabel(ctx context.Context, tx writer, k orderKey, later *laterSearchRows) (int64, error) {
	for window, minStep := 32, int64(4); ; window, minStep = window*4, min(minStep*2, maxMinStep) {
		before, after, sameName, err := neighbourLabels(ctx, tx, k)
		if err != nil {
			return 0, err
		}
		switch {
		case before < minLabel && after > maxLabel:
			return 0, nil
		case after > maxLabel && maxLabel-before >= 2:
			return before + max(1, (maxLabel-before)>>endShift), nil
		case before < minLabel && after-minLabel >= 2:
			return after - max(1, (after-minLabel)>>endShift), nil
		case after-before >= 2 && sameName:
			return before + max(1, (after-before)>>sameNameShift), nil
		case after-before >= 2:
			return before + (after-before)/2, nil
		}
		if window > maxWindow {
			return 0, errors.New("no room left in the customer order")
		}
		if window == maxWindow {
			minStep = 2 // the widest window takes any room there is
		}
		if err := spreadLabels(ctx, tx, before, window, minStep, sameName, later); err != nil {
			return 0, fmt.Errorf("relabel customers: %w", err)
		}
	}
}

// nextDeferredLabel returns the label after the largest, from relabelOffset
// on: the label of the next customer of a bulk load that defers the search
// index (see allocateLabel).
func nextDeferredLabel(ctx context.Context, tx writer) (int64, error) {
	var next int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(sort_seq) + 1, ?) FROM customers`, int64(relabelOffset)).Scan(&next)
	return next, err
}

// spreadLabels takes up to window labels on each side of label at (inclusive)
// and spreads them evenly over the room between the labels just outside, if
// that leaves at least minStep between two of them; otherwise it changes
// nothing and the caller widens the window. For a namesake of the customer
// at (namesakes are appended after each other, as ids grow), the gap just
// after at keeps half the room: a run of namesakes then grows by hundreds
// before the next spread, not by labelStep - 1 (the demo generator has 2,401
// names: a million customers of it are runs of about 400 namesakes, and
// 100,000 more into them spread 2,428 windows). The window's customers are
// moved by three statements, whatever its width, and their search rows
// written again one row at a time (fillSearchIndex), by inserts that open no
// statement journal: FTS5 writes out its pending rows as a segment at every
// statement that opens one (a write that may change several rows, as a move
// of a unique label may), so moves per customer made segments per customer,
// and merging them was 59 % of an import's CPU into a store of a million
// with many namesakes (docs/BENCHMARKS.md). With later, the search rows are
// left to later's write: the labels moved from and to are noted there.
func spreadLabels(ctx context.Context, tx writer, at int64, window int, minStep int64, namesake bool, later *laterSearchRows) error {
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
	if len(lower)+len(upper) == 0 {
		return nil
	}
	first, last := at, at // the window's smallest and largest labels
	if len(lower) > 0 {
		first = lower[len(lower)-1]
	}
	if len(upper) > 0 {
		last = upper[len(upper)-1]
	}
	slots := int64(len(lower) + len(upper) + 2) // one gap on each side of every label, room for the newcomer
	step := (hi - lo) / slots
	newcomerGap := step
	if namesake {
		step = (hi - lo) / (2 * slots)
		newcomerGap = (hi - lo) / 2
	}
	if step < minStep {
		return nil // not enough room here: the caller widens the window
	}
	// Out of the way first (see relabelOffset), then the n-th customer of the
	// window takes lo + n*step, and those after at newcomerGap more: the
	// gap just after at is the newcomer's.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE customers SET sort_seq = sort_seq + ? WHERE sort_seq BETWEEN ? AND ?`, []any{int64(relabelOffset), first, last}},
		{`UPDATE customers SET sort_seq = ? + ? * ranked.n + ? * (ranked.n > ?)
			FROM (SELECT id, row_number() OVER (ORDER BY sort_seq) AS n FROM customers WHERE sort_seq BETWEEN ? AND ?) AS ranked
			WHERE customers.id = ranked.id`, []any{lo, step, newcomerGap, len(lower), first + relabelOffset, last + relabelOffset}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	if later != nil {
		later.spread(first, last, lo, hi)
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid BETWEEN ? AND ?`, first, last); err != nil {
		return err
	}
	return fillSearchIndex(ctx, tx, lo, hi)
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

// compactLabelsSQL gives every customer the label labelStep times its rank in
// (domain_number, last_key, first_key, id) order, from 0 (joined on the rowid, not
// the id: no index probe a customer, 5.9 s instead of 9.2 s for the demo
// million in the C SQLite shell), and empties the search
// index for compactLabels to fill again under the new labels
// (fillSearchIndex), then merge into one segment (finishSearchIndexSQL). The
// first statement moves every label out of the range the second one fills
// (see relabelOffset), but those a deferred load took there already. While
// the index fills, FTS5's merges wait ('automerge' 0, 'crisismerge' 1000: a
// level merges only at 1,000 segments, far below FTS5's limit of 2,000 in
// all) and 'optimize' merges every segment once at the end: 31 % less time
// than merging as it goes (11.2 against 16.3 s at 100,000 customers); then
// FTS5's defaults (4 and 16) are set again for the writes that follow.
// Not higher: the demo million's rows make more than 1,000 segments, so a
// level is merged on the way, and 'optimize' then writes the index into a
// level above both; with 'crisismerge' 1900 every segment was
// on the first level, 'optimize' wrote the index into the second, and the
// writes that followed merged it whole again with their own segments there:
// 100,000 customers more took 39.6 s instead of 24.7 (docs/BENCHMARKS.md,
// "Bulk import", fifteenth round).
var compactLabelsSQL = fmt.Sprintf(`
UPDATE customers SET sort_seq = sort_seq + %[1]d WHERE sort_seq < %[1]d;
UPDATE customers SET sort_seq = ranked.label
	FROM (SELECT rowid AS row, (row_number() OVER (ORDER BY domain_number, last_key, first_key, id) - 1) * %d AS label FROM customers) AS ranked
	WHERE customers.rowid = ranked.row;
INSERT INTO customer_search (customer_search) VALUES ('delete-all');
INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 0);
INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', 1000);
`, int64(relabelOffset), labelStep)

// finishSearchIndexSQL ends compactLabelsSQL's rebuild of the index.
const finishSearchIndexSQL = `
INSERT INTO customer_search (customer_search) VALUES ('optimize');
INSERT INTO customer_search (customer_search, rank) VALUES ('automerge', 4);
INSERT INTO customer_search (customer_search, rank) VALUES ('crisismerge', 16);
`

// labelsSparse reports whether more than a tenth of the n customers have
// labels beyond the room compacted labels would take twice over (2 *
// labelStep per customer above the smallest label): after a bulk load into a
// store that had few customers, not after customers added to a compacted
// store, even if a few of them went past its end (which takes a large step).
func labelsSparse(ctx context.Context, tx writer, n int64) (bool, error) {
	if n < 2 {
		return false, nil
	}
	var lo int64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(sort_seq) FROM customers`).Scan(&lo); err != nil {
		return false, err
	}
	var near int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE sort_seq <= ?`, lo+2*labelStep*n).Scan(&near); err != nil {
		return false, err
	}
	return near*10 < n*9, nil
}
