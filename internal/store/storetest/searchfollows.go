package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store"
)

// testSearchFollowsEveryChange searches the same text before and after
// every kind of write, with one service throughout: a store whose search
// pages are cached (customers.SearchVersions) must never serve a page from
// before a committed change.
func testSearchFollowsEveryChange(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := NewDomain(t, s)
	ada := NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{ada}, nil); err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, time.Now)
	type row struct {
		Email  string
		Status customers.Status
	}
	search := func(text string, status customers.Status) []row {
		t.Helper()
		p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: text, Status: status, First: 10})
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		for _, h := range p.Hits {
			rows = append(rows, row{h.Customer.Email, h.Customer.Status})
		}
		return rows
	}
	want := func(step, text string, status customers.Status, rows ...row) {
		t.Helper()
		for range 2 { // the second search is the one a cache answers
			if got := search(text, status); !slices.Equal(got, rows) {
				t.Fatalf("%s: search %q (status %q) = %v, want %v", step, text, status, got, rows)
			}
		}
	}
	want("imported", "ada", "", row{"ada@example.com", customers.StatusActive})
	want("imported", "ada", customers.StatusDisabled)

	disabled := customers.StatusDisabled
	u := customers.Update{ID: ada.ID, Version: ada.Version, Status: &disabled, At: now()}
	changed, err := s.UpdateCustomer(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	want("disabled", "ada", "", row{"ada@example.com", customers.StatusDisabled})
	want("disabled", "ada", customers.StatusDisabled, row{"ada@example.com", customers.StatusDisabled})

	after := changed
	after.FirstName, after.Email = "Augusta", "augusta@example.org"
	if changed, err = s.UpdateCustomer(ctx, profileUpdate(changed, after, d.DefaultRegion)); err != nil {
		t.Fatal(err)
	}
	want("renamed", "ada", "")
	want("renamed", "augusta", "", row{"augusta@example.org", customers.StatusDisabled})

	bob := NewCustomer(d, "Bob", "Augusta", "bob@example.com", "")
	if err := s.ImportCustomers(ctx, []customers.Customer{bob}, nil); err != nil {
		t.Fatal(err)
	}
	// Both match "augusta" exactly; Bob Augusta's last name comes first.
	want("another imported", "augusta", "", row{"bob@example.com", customers.StatusActive}, row{"augusta@example.org", customers.StatusDisabled})

	if err := s.DeleteCustomer(ctx, erasure(changed, changed.Version)); err != nil {
		t.Fatal(err)
	}
	want("erased", "augusta", "", row{"bob@example.com", customers.StatusActive})
}
