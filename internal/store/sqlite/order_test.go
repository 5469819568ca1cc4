package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
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

// Customers inserted one by one at the same place in the order (each name
// after the one before, all before an existing customer) halve the gap
// between two labels every time, so labels must be spread again many times.
// Labels must stay in name order and the search index must follow them.
func TestLabelsStayInNameOrderThroughRelabelling(t *testing.T) {
	ctx := context.Background()
	s, d, mk := newOrderStore(t)
	const n = 300
	for i := range n {
		if err := s.ImportCustomers(ctx, []customers.Customer{mk("John", fmt.Sprintf("Smith%04d", i), i)}, nil); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
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
	var got []string
	var after *customers.Cursor
	for {
		p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: "smith", First: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p.Hits {
			got = append(got, h.Customer.ID)
			after = &h.Cursor
		}
		if !p.HasNext {
			break
		}
	}
	if want := byName[1 : n+1]; !slices.Equal(got, want) {
		t.Fatalf("paged search found %d customers, want %d in name order", len(got), len(want))
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
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// Namesakes added one after the other (ids grow, so each goes right after
// the one before: what a bulk load of a common name does) each take a small
// share of the gap, not half of it: 2,000 of them need no relabelling.
func TestNamesakesDoNotExhaustTheirGap(t *testing.T) {
	ctx := context.Background()
	s, _, mk := newOrderStore(t)
	var before int64
	if err := s.read.QueryRow(`SELECT sort_seq FROM customers WHERE id = 'Zulu-0000'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := s.ImportCustomers(ctx, []customers.Customer{mk("John", "Smith", i)}, nil); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	var after int64
	if err := s.read.QueryRow(`SELECT sort_seq FROM customers WHERE id = 'Zulu-0000'`).Scan(&after); err != nil || after != before {
		t.Fatalf("Zulu moved from label %d to %d (%v): the namesakes relabelled", before, after, err)
	}
	if byLabel, byName := ids(t, s, `SELECT id FROM customers ORDER BY sort_seq`), ids(t, s, `SELECT id FROM customers ORDER BY last_key, first_key, id`); !slices.Equal(byLabel, byName) {
		t.Fatal("label order differs from name order")
	}
}
