package sqlite

import (
	"context"
	"strings"
	"testing"
)

// An import looks up each batch's external ids, emails and serial numbers:
// each lookup must seek its index, not read the domain (with the partial
// index of external ids unused, an import slowed as the store grew).
func TestImportLookupsSeekTheirIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for _, q := range []struct{ query, want string }{
		{customersByExternalIDSQL, "customers_domain_external_id (domain_id=? AND external_id=?)"},
		{customersByEmailSQL, "customers_domain_email (domain_id=? AND email=?)"},
		{devicesBySerialSQL, "devices_domain_serial (domain_id=? AND serial_number=?)"},
	} {
		rows, err := s.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.query+" IN (?, ?)", "d", "a", "b")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, q.want) {
			t.Errorf("%s\nplan %q, want a search of %s", q.query, got, q.want)
		}
	}
}
