package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// Renaming customers into a crowded place of the name order (where the
// labels of neighbours are adjacent, so a window must be spread again) keeps
// labels in name order, every customer with its one search row under its
// label, and search finding each by its new name only.
func TestRenamesIntoACrowdedPlaceKeepLabelsInNameOrder(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(t, s)
	mk := func(first, last, id string) customers.Customer {
		c := storetest.NewCustomer(d, first, last, fmt.Sprintf("%s@example.com", id), "")
		c.ID = id
		return c
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{mk("Zed", "Zulu", "zulu"), mk("Aaron", "Aardvark", "aardvark")}, nil); err != nil {
		t.Fatal(err)
	}
	// Each Smith goes just before Zulu, halving the gap there: the labels
	// at the end of the Smiths end up adjacent.
	for i := range 120 {
		if err := s.ImportCustomers(ctx, []customers.Customer{mk("John", fmt.Sprintf("Smith%04d", i), fmt.Sprintf("smith-%04d", i))}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var movers []customers.Customer
	for i := range 100 { // 66 of them land at the crowded end: more than the 55 halvings a spread window's gaps allow
		movers = append(movers, mk("Mover", fmt.Sprintf("Mover%02d", i), fmt.Sprintf("t-%04d", i)))
	}
	if err := s.ImportCustomers(ctx, movers, nil); err != nil {
		t.Fatal(err)
	}
	label := func(id string) int64 {
		var l int64
		if err := s.read.QueryRow(`SELECT sort_seq FROM customers WHERE id = ?`, idKey(id)).Scan(&l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	zulu := label("zulu")
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	for i, c := range movers {
		// Into the crowded end, just before Zulu ("t-..." sorts after "smith-...").
		after := c
		after.FirstName, after.LastName = fmt.Sprintf("John%02d", i), "Smith0119" // each after the one before: halving
		if i%3 == 0 {
			after.FirstName = fmt.Sprintf("Johnny%02d", i) // after every "John", still at the end (smiths are found first: their emails hold "smith")
		}
		u := customers.Update{ID: c.ID, Version: c.Version, At: storetestNow(), FirstName: &after.FirstName, LastName: &after.LastName,
			SearchTokens: customers.SearchTokens(after, nil, d.DefaultRegion)}
		if _, err := s.UpdateCustomer(ctx, u); err != nil {
			t.Fatalf("rename %s: %v", c.ID, err)
		}
		if got := searchIDs(t, svc, d.ID, after.LastName+" "+after.FirstName); !slices.Contains(got, c.ID) {
			t.Fatalf("rename %s: search for the new name = %v", c.ID, got)
		}
		if got := searchIDs(t, svc, d.ID, after.FirstName+" "+c.LastName); len(got) != 0 {
			t.Fatalf("rename %s: the old last name still finds %v", c.ID, got)
		}
	}
	if label("zulu") == zulu {
		t.Fatal("Zulu kept its label: no relabelling was exercised")
	}
	byLabel := ids(t, s, `SELECT id FROM customers ORDER BY sort_seq`)
	byName := ids(t, s, `SELECT id FROM customers ORDER BY last_key, first_key, id`)
	if !slices.Equal(byLabel, byName) {
		t.Fatalf("label order differs from name order:\n%v\n%v", byLabel, byName)
	}
	var indexed, orphans int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM customer_search`).Scan(&indexed); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM customer_search s WHERE s.rowid = c.sort_seq)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if indexed != len(byName) || orphans != 0 {
		t.Fatalf("search index has %d rows for %d customers, %d customers without their row", indexed, len(byName), orphans)
	}
	smiths := searchIDs(t, svc, d.ID, "smith")
	var want []string
	for _, id := range byName {
		if id != "zulu" && id != "aardvark" {
			want = append(want, id)
		}
	}
	if !slices.Equal(smiths, want) {
		t.Fatalf("search for smith, paged:\n got  %v\n want %v", smiths, want)
	}
}

func storetestNow() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// searchIDs returns the ids of every hit of text, paging 7 at a time.
func searchIDs(t *testing.T, svc *customers.Service, domainID, text string) []string {
	t.Helper()
	var got []string
	var after *customers.Cursor
	for {
		p, err := svc.Search(context.Background(), domainID, customers.SearchRequest{Text: text, First: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p.Hits {
			got = append(got, h.Customer.ID)
			after = &h.Cursor
		}
		if !p.HasNext {
			return got
		}
	}
}
