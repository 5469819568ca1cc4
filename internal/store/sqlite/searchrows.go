package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
)

// The search index, customer_search, holds one row per customer under its
// order label: its search tokens (customers.SearchTokens).
// The tokens are not stored with the customer (migration 19): a write that
// changes them passes them in (a new customer's SearchTokens,
// customers.Update.SearchTokens), and whatever writes rows of the index
// again (a window of labels spread, the compaction after a bulk load, a
// reindex) derives them from the customer (with the region its phone number
// was read in, migration 21) and its devices, as the service does. Stored, they were 220 bytes a
// customer, 14 % of a million customers' store (docs/BENCHMARKS.md, "Disk").

// searchDocument is a customer's customer_search row: its tokens, separated
// by spaces. (Rows began with a marker of the customer's domain, "$" and its
// id, until migration 20: searches never read it, a domain's customers being
// a range of labels, and FTS5's tokenizer took the "$" for a separator, so
// that any prefix of the domain's id found every customer of the domain.)
func searchDocument(tokens []string) string {
	return strings.Join(tokens, " ")
}

// indexCustomer writes a customer's search row under its label.
func indexCustomer(ctx context.Context, tx writer, label int64, tokens []string) error {
	return indexDocument(ctx, tx, label, searchDocument(tokens))
}

// indexDocument writes the search row document (searchDocument) under label.
// One row a statement, always: SQLite opens a savepoint for a statement
// that writes several rows, and FTS5 writes its pending terms out as a
// segment at every savepoint, so that fifty rows a statement (rowInsert)
// made a segment of every fifty (docs/BENCHMARKS.md, "Bulk import",
// twenty-fourth round).
func indexDocument(ctx context.Context, tx writer, label int64, document string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customer_search (rowid, tokens) VALUES (?, ?)`, label, document)
	return err
}

// searchSourceSQL reads what a customer's search row is derived from, for
// the customers with labels above the first argument and below the second,
// in label order, as many as the third: the fields SearchTokens reads (the
// region the phone number was read in among them), the domain's default
// region, and the serial numbers and MAC addresses of its
// devices as a JSON array of [serial, mac] pairs (NULL for none).
const searchSourceSQL = `SELECT c.sort_seq, c.id, dm.id, c.first_name, c.last_name, c.email, c.phone, c.phone_region, c.external_id, dm.default_region,
	(SELECT json_group_array(json_array(d.serial_number, ` + deviceMACText + `)) FROM devices d WHERE d.customer_rid = c.rid)
	FROM customers c JOIN domains dm ON dm.number = c.domain_number
	WHERE c.sort_seq > ? AND c.sort_seq < ? ORDER BY c.sort_seq LIMIT ?`

// reindexOwners writes again, in tx, the search rows of the customers ds
// belong to, derived with ds among their devices: in the transaction that
// stores ds, so that a device is never stored without its customer being
// found by it (an import killed between the two writes left it so, and its
// rerun, finding the device stored, did not derive the row again).
func reindexOwners(ctx context.Context, tx writer, ds []devices.Device) error {
	done := map[string]bool{}
	for _, d := range ds {
		if done[d.CustomerID] {
			continue
		}
		done[d.CustomerID] = true
		var label int64
		if err := tx.QueryRowContext(ctx, `SELECT sort_seq FROM customers WHERE id = ?`, idKey(d.CustomerID)).Scan(&label); err != nil {
			return err
		}
		sources, err := readSearchSources(ctx, tx, label-1, label+1, 1)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid = ?`, label); err != nil {
			return err
		}
		if err := indexDocument(ctx, tx, label, sources[0].document()); err != nil {
			return err
		}
	}
	return nil
}

// searchFillBatch is how many customers fillSearchIndex reads at a time.
const searchFillBatch = 1000

// searchSource is what one customer's search row is derived from.
type searchSource struct {
	label    int64
	customer customers.Customer
	devices  []devices.Device
	region   string
}

// document derives the customer's search row.
func (src searchSource) document() string {
	return searchDocument(customers.SearchTokens(src.customer, src.devices, src.region))
}

// readSearchSources returns up to limit customers with labels above after
// and below before, in label order.
func readSearchSources(ctx context.Context, tx writer, after, before int64, limit int) ([]searchSource, error) {
	return readSearchSourcesWith(ctx, tx, searchSourceSQL, after, before, limit)
}

// readSearchSourcesWith reads as readSearchSources does with query,
// searchSourceSQL or customerSourcesSQL.
func readSearchSourcesWith(ctx context.Context, tx writer, query string, after, before int64, limit int) ([]searchSource, error) {
	rows, err := tx.QueryContext(ctx, query, after, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []searchSource
	for rows.Next() {
		var src searchSource
		var devs *string
		c := &src.customer
		if err := rows.Scan(&src.label, idScan(&c.ID), &c.DomainID, &c.FirstName, &c.LastName, &c.Email, &c.Phone, &c.PhoneRegion, &c.ExternalID, &src.region, &devs); err != nil {
			return nil, err
		}
		if devs != nil {
			var pairs [][2]string
			if err := json.Unmarshal([]byte(*devs), &pairs); err != nil {
				return nil, err
			}
			for _, p := range pairs {
				src.devices = append(src.devices, devices.Device{SerialNumber: p[0], MACAddress: p[1]})
			}
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

// fillSearchIndex writes the search rows of the customers with labels above
// after and below before, in label order (see fillSearchIndexFrom). The rows
// must not be in the index already.
func fillSearchIndex(ctx context.Context, tx writer, after, before int64) error {
	return fillSearchIndexFrom(ctx, tx, after, func(after int64) ([]searchSource, error) {
		return readSearchSources(ctx, tx, after, before, searchFillBatch)
	})
}

// customerSourcesSQL is searchSourceSQL without the devices (the last
// column is NULL).
const customerSourcesSQL = `SELECT c.sort_seq, c.id, dm.id, c.first_name, c.last_name, c.email, c.phone, c.phone_region, c.external_id, dm.default_region, NULL
	FROM customers c JOIN domains dm ON dm.number = c.domain_number
	WHERE c.sort_seq > ? AND c.sort_seq < ? ORDER BY c.sort_seq LIMIT ?`

// deviceKeysSQL reads every device's serial number and MAC address with its
// customer's label, in the devices' stored order, which is their customers'
// order after a load (ImportCustomers writes a customer's devices after it):
// each customer's row is then near the one before.
const deviceKeysSQL = `SELECT c.sort_seq, d.serial_number, ` + deviceMACText + ` FROM devices d JOIN customers c ON c.rid = d.customer_rid ORDER BY d.rowid`

// deviceKeys is one device's part of its customer's search row, under the
// customer's label.
type deviceKeys struct {
	label       int64
	serial, mac string
}

// fillWholeSearchIndex writes every customer's search row, as
// fillSearchIndex(math.MinInt64, math.MaxInt64) would, but reads the devices
// apart: all of them first, in the order they are stored, sorted by their
// customers' labels in memory (about 90 bytes a device), then the customers
// in label order without them. Read with each customer, in label order, the
// devices were a seek into another part of the file a customer: for the demo
// million (1.5 million devices) 13.7 s of reads against 6.2 s
// (docs/BENCHMARKS.md, "Bulk import").
func fillWholeSearchIndex(ctx context.Context, tx writer) error {
	rows, err := tx.QueryContext(ctx, deviceKeysSQL)
	if err != nil {
		return err
	}
	var keys []deviceKeys
	for rows.Next() {
		var k deviceKeys
		if err := rows.Scan(&k.label, &k.serial, &k.mac); err != nil {
			_ = rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	// Stable: a customer's devices stay in the order they were stored, as
	// searchSourceSQL gives them.
	slices.SortStableFunc(keys, func(a, b deviceKeys) int { return cmp.Compare(a.label, b.label) })
	return fillSearchIndexFrom(ctx, tx, math.MinInt64, func(after int64) ([]searchSource, error) {
		sources, err := readSearchSourcesWith(ctx, tx, customerSourcesSQL, after, math.MaxInt64, searchFillBatch)
		for i := range sources {
			src := &sources[i]
			for len(keys) > 0 && keys[0].label <= src.label {
				if keys[0].label == src.label {
					src.devices = append(src.devices, devices.Device{SerialNumber: keys[0].serial, MACAddress: keys[0].mac})
				}
				keys = keys[1:]
			}
		}
		return sources, err
	})
}

// fillSearchIndexFrom writes the search rows of the customers read returns,
// a batch at a time in label order (read is given the last label of the
// batch before, after at first, and returns an empty batch at the end),
// deriving their tokens (about 30 µs a customer, most of it parsing phone
// numbers) on a goroutine of its own a batch ahead, while tx reads the next
// batch and writes the one before: the compaction of a million customers
// derives on one core while FTS5 indexes on the other. (Deriving each batch
// on every core instead made that compaction 10 % slower, and a load of
// 100,000 into a million, whose windows of labels spread are a batch each,
// no faster.)
func fillSearchIndexFrom(ctx context.Context, tx writer, after int64, read func(after int64) ([]searchSource, error)) error {
	type batch struct {
		sources   []searchSource
		documents []string
	}
	toDerive, derived := make(chan *batch, 1), make(chan *batch, 1)
	go func() {
		defer close(derived)
		for b := range toDerive {
			b.documents = make([]string, len(b.sources))
			for i, src := range b.sources {
				b.documents[i] = src.document()
			}
			derived <- b
		}
	}()
	write := func(b *batch) error {
		for i, src := range b.sources {
			if err := indexDocument(ctx, tx, src.label, b.documents[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	for inFlight := 0; ; {
		var sources []searchSource
		if sources, err = read(after); err != nil || len(sources) == 0 {
			break
		}
		after = sources[len(sources)-1].label
		toDerive <- &batch{sources: sources}
		if inFlight++; inFlight == 2 { // write the batch before while this one is derived
			inFlight--
			if err = write(<-derived); err != nil {
				break
			}
		}
	}
	close(toDerive)
	for b := range derived {
		if err == nil {
			err = write(b)
		}
	}
	return err
}

// laterSearchRows holds back the search rows of a bulk write (ImportCustomers
// into a store whose index is not deferred) until its end, when write writes
// them in rowid order. FTS5 writes its pending rows out as a segment
// whenever a row comes with a rowid below the one before (and a spread of
// labels goes back to write its window's rows again, then the write goes on
// from the newcomer's label): 100,000 customers more into the demo million
// made hundreds of small segments that FTS5 merged as it went
// (docs/BENCHMARKS.md, "Bulk import").
type laterSearchRows struct {
	added []heldRow // the write's new customers, under the labels they were given
	// Each spread of labels (spreadLabels) moved the customers with labels
	// from[i].lo to from[i].hi (inclusive) to labels between into[i].lo and
	// into[i].hi (exclusive), which then hold those customers alone, and
	// the write's customers given labels there afterwards.
	from, into []labelRange
}

type heldRow struct {
	label    int64
	document string
}

type labelRange struct{ lo, hi int64 }

// insertCustomer is insertCustomer for the bulk write, given c's sort keys
// (customers.SortKeys): c's search row waits for write. It returns c's rid.
func (l *laterSearchRows) insertCustomer(ctx context.Context, tx writer, c customers.Customer, domain int64, lastKey, firstKey string) (int64, error) {
	label, err := orderedLabel(ctx, tx, orderKey{domain, lastKey, firstKey, c.ID}, l)
	if err != nil {
		return 0, err
	}
	l.added = append(l.added, heldRow{label, searchDocument(c.SearchTokens)})
	return writeCustomer(ctx, tx, c, domain, lastKey, firstKey, label, false)
}

// spread notes a spread of labels (see from and into).
func (l *laterSearchRows) spread(first, last, lo, hi int64) {
	l.from, l.into = append(l.from, labelRange{first, last}), append(l.into, labelRange{lo, hi})
}

// write writes the rows held back, in rowid order: it deletes the rows of
// the labels spreads moved customers from (no customer kept one of those
// labels: a spread moves every customer between its first and last
// label), then writes, label by label, the rows of the new customers given
// labels no spread moved them from, and derives again from the store the
// rows of every label spreads moved customers into (the write's customers
// a spread moved, or given a label there after it, among them: a customer
// moved had its label in the range it moved from, which lies inside the
// range it moved into).
func (l *laterSearchRows) write(ctx context.Context, tx writer) error {
	slices.SortFunc(l.from, func(a, b labelRange) int { return cmp.Compare(a.lo, b.lo) })
	for _, r := range l.from {
		if _, err := tx.ExecContext(ctx, `DELETE FROM customer_search WHERE rowid BETWEEN ? AND ?`, r.lo, r.hi); err != nil {
			return err
		}
	}
	slices.SortFunc(l.added, func(a, b heldRow) int { return cmp.Compare(a.label, b.label) })
	added := l.added
	insertUpTo := func(end int64) error { // the added rows with labels up to end, inclusive
		for ; len(added) > 0 && added[0].label <= end; added = added[1:] {
			if err := indexDocument(ctx, tx, added[0].label, added[0].document); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range mergeOpenRanges(l.into) {
		if err := insertUpTo(r.lo); err != nil {
			return err
		}
		for len(added) > 0 && added[0].label < r.hi { // derived again below
			added = added[1:]
		}
		if err := fillSearchIndex(ctx, tx, r.lo, r.hi); err != nil {
			return err
		}
	}
	return insertUpTo(math.MaxInt64)
}

// mergeOpenRanges returns the union of rs, ranges with exclusive ends, as
// disjoint ranges in order. Ranges that only touch stay apart: the label
// between them is in neither.
func mergeOpenRanges(rs []labelRange) []labelRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b labelRange) int { return cmp.Compare(a.lo, b.lo) })
	var out []labelRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo < out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}
