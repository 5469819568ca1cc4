package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/demo"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	newids "github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// newOrderStore returns a store holding Aaron Aardvark and Zed Zulu, the
// first and last in name order, and how to make a customer of its domain
// whose id is its last name and n.
func newOrderStore(t *testing.T) (*Store, domains.Domain, func(first, last string, n int) customers.Customer) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	d := storetest.NewDomain(t, s)
	mk := func(first, last string, n int) customers.Customer {
		c := storetest.NewCustomer(d, first, last, fmt.Sprintf("%s.%s.%04d@example.com", first, last, n), "")
		c.ID = fmt.Sprintf("%s-%04d", last, n)
		return c
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{mk("Zed", "Zulu", 0), mk("Aaron", "Aardvark", 0)}, nil); err != nil {
		t.Fatal(err)
	}
	return s, d, mk
}

// Customers inserted at the same place in the order (each name after the
// one before, all before an existing customer) halve the gap between two
// labels every time, so labels must be spread again many times. Labels must
// stay in name order and the search index must follow them: one customer a
// write, and in batches, whose windows spread hold customers of the same
// batch, whose search rows, derived again, keep their devices' serial
// numbers (in one batch of all, windows spread again and again before the
// batch writes its search rows); FTS5's own integrity check passes.
func TestLabelsStayInNameOrderThroughRelabelling(t *testing.T) {
	for _, batch := range []int{1, 60, 300} {
		t.Run(fmt.Sprintf("batches of %d", batch), func(t *testing.T) { testLabelsStayInNameOrder(t, batch) })
	}
}

func testLabelsStayInNameOrder(t *testing.T, batch int) {
	ctx := context.Background()
	s, d, mk := newOrderStore(t)
	const n = 300
	for i := 0; i < n; i += batch {
		var cs []customers.Customer
		var ds []devices.Device
		for j := i; j < i+batch; j++ {
			c := mk("John", fmt.Sprintf("Smith%04d", j), j)
			dev := devices.Device{ID: fmt.Sprintf("device-%04d", j), DomainID: d.ID, CustomerID: c.ID, Name: "Hall", Model: "T-100",
				SerialNumber: fmt.Sprintf("SN-%04d", j), Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}
			c.SearchTokens = customers.SearchTokens(c, []devices.Device{dev}, d.DefaultRegion) // as an import derives them
			cs, ds = append(cs, c), append(ds, dev)
		}
		if err := s.ImportCustomers(ctx, cs, ds); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO customer_search (customer_search) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("the search index's integrity check: %v", err)
	}

	var zulu int64
	if err := s.read.QueryRow(`SELECT sort_seq FROM customers WHERE id = 'Zulu-0000'`).Scan(&zulu); err != nil || zulu == 0 {
		t.Fatalf("Zulu kept its first label %d (%v): no relabelling was exercised", zulu, err)
	}
	byLabel := ids(t, s, `SELECT id FROM customers ORDER BY sort_seq`)
	byName := ids(t, s, `SELECT id FROM customers ORDER BY last_key, first_key, id`)
	if !slices.Equal(byLabel, byName) {
		t.Fatalf("label order differs from name order:\n%v\n%v", byLabel, byName)
	}
	var indexed, mismatched int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM customer_search`).Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM customer_search s WHERE s.rowid = c.sort_seq)`).Scan(&mismatched); err != nil {
		t.Fatal(err)
	}
	if indexed != n+2 || mismatched != 0 {
		t.Fatalf("search index has %d rows (want %d), %d customers without their row", indexed, n+2, mismatched)
	}

	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	got := searchIDs(t, svc, d.ID, "smith")
	if want := byName[1 : n+1]; !slices.Equal(got, want) {
		t.Fatalf("paged search found %d customers, want %d in name order", len(got), len(want))
	}
	for j := range n {
		if got, want := searchIDs(t, svc, d.ID, fmt.Sprintf("SN-%04d", j)), fmt.Sprintf("Smith%04d-%04d", j, j); !slices.Equal(got, []string{want}) {
			t.Fatalf("search by the serial number of %s found %v", want, got)
		}
	}
}

func ids(t *testing.T, s *Store, query string) []string {
	t.Helper()
	rows, err := s.read.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(idScan(&id)); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// After a bulk load the labels are far apart; OptimizeAfterBulkLoad gives them labels
// labelStep apart in name order, with a search index that follows, and gives
// the pages it freed back; customers added one by one afterwards take the
// middles of those gaps (or a large step past the end), and OptimizeAfterBulkLoad then
// leaves the labels alone.
func TestOptimizeAfterBulkLoadBringsSparseLabelsCloseTogether(t *testing.T) {
	ctx := context.Background()
	s, d, mk := newOrderStore(t)
	var batch []customers.Customer
	for i := range 2000 {
		batch = append(batch, mk(fmt.Sprintf("Ann%04d", (i*7919)%2000), "Lee", i)) // names out of order
		if len(batch) == 500 {
			if err := s.ImportCustomers(ctx, batch, nil); err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
			batch = nil
		}
	}
	if sparse, err := labelsSparse(ctx, s.write, 2002); err != nil || !sparse {
		t.Fatalf("labels after a bulk load are not sparse (%v): nothing to compact", err)
	}
	var pages, freeBefore int64
	_ = s.write.QueryRow(`PRAGMA page_count`).Scan(&pages)
	_ = s.write.QueryRow(`PRAGMA freelist_count`).Scan(&freeBefore)
	if err := s.OptimizeAfterBulkLoad(ctx, optimizeAfter); err != nil {
		t.Fatal(err)
	}
	var free, pagesAfter int64
	if err := s.write.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil || free != 0 {
		t.Fatalf("%d free pages left in the file after OptimizeAfterBulkLoad (%v): the compaction's freed pages were not given back", free, err)
	}
	_ = s.write.QueryRow(`PRAGMA page_count`).Scan(&pagesAfter)
	t.Logf("pages %d (%d free) before OptimizeAfterBulkLoad, %d after", pages, freeBefore, pagesAfter)
	compacted := requireCompactLabels(t, s, "after OptimizeAfterBulkLoad")
	for i := range 100 {
		if err := s.ImportCustomers(ctx, []customers.Customer{mk(fmt.Sprintf("Ann%04d", i*19), "Lee", 5000+i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// past the end: a large step, which must not make the labels look sparse
	if err := s.ImportCustomers(ctx, []customers.Customer{mk("Zz", "Zzyzx", 0)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.OptimizeAfterBulkLoad(ctx, optimizeAfter); err != nil {
		t.Fatal(err)
	}
	var zulu int64
	if err := s.read.QueryRow(`SELECT sort_seq FROM customers WHERE id = 'Zulu-0000'`).Scan(&zulu); err != nil || zulu != compacted[len(compacted)-1] {
		t.Fatalf("OptimizeAfterBulkLoad moved Zulu from label %d to %d (%v), though labels were close together", compacted[len(compacted)-1], zulu, err)
	}
	found := searchIDs(t, customers.NewService(s, nil, passwords.Policy{}, time.Now), d.ID, "lee")
	if want := ids(t, s, `SELECT id FROM customers WHERE last_key = 'lee' ORDER BY last_key, first_key, id`); len(want) != 2100 || !slices.Equal(found, want) {
		t.Fatalf("search found %d customers, want the 2,100 Lees in name order", len(found))
	}
}

// Namesakes added one by one between two customers (ids grow, so each goes
// right after the one before) fill the gap and then spread a window again
// and again: order and search index follow.
func TestNamesakesBetweenTwoCustomersStayInOrder(t *testing.T) {
	ctx := context.Background()
	s, d, mk := newOrderStore(t)
	for i := range 300 {
		if err := s.ImportCustomers(ctx, []customers.Customer{mk("John", "Smith", i)}, nil); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	byLabel, byName := ids(t, s, `SELECT id FROM customers ORDER BY sort_seq`), ids(t, s, `SELECT id FROM customers ORDER BY last_key, first_key, id`)
	if !slices.Equal(byLabel, byName) {
		t.Fatal("label order differs from name order")
	}
	got := searchIDs(t, customers.NewService(s, nil, passwords.Policy{}, time.Now), d.ID, "smith")
	if want := byName[1:301]; !slices.Equal(got, want) {
		t.Fatalf("search found %d namesakes, want %d in name order", len(got), len(want))
	}
}

// A store whose labels are far apart and in name order across domains (as
// every store written before migration 16) opens with labels labelStep apart,
// domain by domain in name order, and a search index that follows them.
func TestMigrationBringsLabelsCloseTogether(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 15) // with its search tokens stored, as every store then
	ds := []domains.Domain{{ID: newids.New()}, {ID: newids.New()}}
	for i, d := range ds {
		if _, err := db.ExecContext(ctx, `INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, ?, 'Domain', 'US', 0)`, d.ID, fmt.Sprint("d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		first, email := fmt.Sprintf("Ann%02d", 59-i), fmt.Sprintf("ann%02d@example.com", i)
		if _, err := db.ExecContext(ctx, `INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash, search_tokens,
			version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (?, ?, ?, 'Lee', ?, '', 'ACTIVE', '', ?, 1, 0, 0, 'lee', ?, ?)`,
			newids.New(), ds[i%2].ID, first, email, strings.ToLower(first)+" lee "+email, strings.ToLower(first), i); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		// as before: in name order across domains, 2^40 apart
		`UPDATE customers SET sort_seq = sort_seq + 4611686018427387905`,
		`UPDATE customers SET sort_seq = r.n * 1099511627776 FROM (SELECT id, row_number() OVER (ORDER BY last_key, first_key, id) AS n FROM customers) r WHERE customers.id = r.id`,
		`INSERT INTO customer_search (rowid, tokens) SELECT sort_seq, '$' || domain_id || ' ' || search_tokens FROM customers`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	s := openMigrated(t, db, dir)
	requireCompactLabels(t, s, "after the migration")
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for _, d := range ds {
		p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: "ann", First: 100})
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, h := range p.Hits {
			found = append(found, h.Customer.ID)
		}
		if want := ids(t, s, `SELECT id FROM customers WHERE domain_number = (SELECT number FROM domains WHERE id = '`+d.ID+`') ORDER BY last_key, first_key, id`); len(want) != 30 || !slices.Equal(found, want) {
			t.Fatalf("search of a domain after the migration found %v, want its 30 in name order %v", found, want)
		}
	}
}

// requireCompactLabels fails unless the customers' labels, in (domain, name)
// order, are 0, labelStep, 2*labelStep..., and returns them.
func requireCompactLabels(t *testing.T, s *Store, when string) []int64 {
	t.Helper()
	got, err := labels(context.Background(), s.write, `SELECT sort_seq FROM customers ORDER BY domain_number, last_key, first_key, id`)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got {
		if want := labelStep * int64(i); l != want {
			t.Fatalf("customer %d in (domain, name) order has label %d %s, want %d", i, l, when, want)
		}
	}
	return got
}

// A store whose labels were compacted (labelStep apart) and which then grows
// fifty times over, in batches, anywhere in the order and with the demo
// generator's namesakes (`server seed` after the demo domain's first 2,000,
// or sign-ups after an import), spreads its labels over wider and wider
// windows, each left with room in proportion to its width, and a run of
// namesakes keeps half of its window's room: the rows changed stay about 11
// a customer added (inserting it, its search row and vocabulary, and its
// share of relabelling; 18 with even spreads). Spreads that left as little
// as two labels of room at every width changed 228 a customer here, and
// `server seed -n 100000` slowed from 3,900 to 105 customers/s (10 min 45 s;
// 47 s since).
func TestLabelsMakeRoomForAStoreThatGrowsManyTimesOver(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	d := storetest.NewDomain(t, s)
	g := demo.NewGenerator(d, "", 0, time.Now())
	load := func(n, batch int) {
		for done := 0; done < n; done += batch {
			var cs []customers.Customer
			var ds []devices.Device
			for range batch {
				c, cds := g.Next()
				cs, ds = append(cs, c), append(ds, cds...)
			}
			if err := s.ImportCustomers(ctx, cs, ds); err != nil {
				t.Fatal(err)
			}
		}
	}
	load(300, 300)
	if err := s.compactLabels(ctx); err != nil {
		t.Fatal(err)
	}
	requireCompactLabels(t, s, "after compaction")
	changes := func() (n int64) {
		if err := s.write.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const added = 15000
	before := changes()
	load(added, 1000)
	perCustomer := float64(changes()-before) / added
	t.Logf("%.1f rows changed per customer added", perCustomer)
	if perCustomer > 15 {
		t.Errorf("%.1f rows changed per customer added: labels are spread again and again", perCustomer)
	}
	byLabel, byName := ids(t, s, `SELECT id FROM customers ORDER BY sort_seq`), ids(t, s, `SELECT id FROM customers ORDER BY last_key, first_key, id`)
	if !slices.Equal(byLabel, byName) {
		t.Fatal("label order differs from name order")
	}
	var unindexed int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM customer_search s WHERE s.rowid = c.sort_seq)`).Scan(&unindexed); err != nil || unindexed != 0 {
		t.Fatalf("%d customers without their search row under their label (%v)", unindexed, err)
	}
}
