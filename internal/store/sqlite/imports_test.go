package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
)

// queryPlan returns the details of SQLite's plan for query, joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

func openPlanStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	return s
}

// An import looks up each batch's external ids, emails and serial numbers:
// each lookup must seek its index, not read the domain (with the partial
// index of external ids unused, an import slowed as the store grew).
func TestImportLookupsSeekTheirIndex(t *testing.T) {
	s := openPlanStore(t)
	for _, q := range []struct{ query, want string }{
		{customersByExternalIDSQL, "customers_domain_external_id (domain_number=? AND external_id=?)"},
		{customersByEmailSQL, "customers_domain_email_digest (domain_number=? AND email_digest=?)"},
		{devicesBySerialSQL, "devices_domain_serial (domain_number=? AND serial_number=?)"},
	} {
		if got := queryPlan(t, s, q.query+" IN (?, ?)", "d", "a", "b"); !strings.Contains(got, q.want) {
			t.Errorf("%s\nplan %q, want a search of %s", q.query, got, q.want)
		}
	}
}

// Customers of a status other than ACTIVE are listed from their partial
// index (migration 18), in name order without a sort; ACTIVE ones, most of
// a domain, from the index of the domain's names.
func TestStatusListingsSeekTheirIndex(t *testing.T) {
	s := openPlanStore(t)
	for _, c := range []struct {
		status customers.Status
		want   string
	}{
		{customers.StatusDisabled, "customers_domain_status_name (domain_number=? AND status=?)"},
		{customers.StatusActive, "customers_domain_name (domain_number=?)"},
		{"", "customers_domain_name (domain_number=?)"},
	} {
		query, args := listCustomersSQL(customers.SearchQuery{DomainID: "d", Status: c.status, Limit: 20})
		got := queryPlan(t, s, query, args...)
		if !strings.Contains(got, c.want) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("listing %q: plan %q, want a search of %s and no sort", c.status, got, c.want)
		}
	}
}
