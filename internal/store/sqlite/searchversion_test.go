package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	newID "github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// The search version must move with every committed change a search page can
// show, in whichever process it was written, and with nothing else: a cached
// page is served only while it has not moved (customers.searchCache). Each
// write path moves it itself, so each has a step here.
func TestSearchVersionMovesWithEveryChangeASearchCanShow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d, other := storetest.NewDomain(t, s), storetest.NewDomain(t, s)
	// Another process writing the same database (an import, say): another Store.
	elsewhere, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Close(ctx)

	version := func() int64 {
		t.Helper()
		v, err := s.SearchVersion(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	last := version()
	if last != 0 {
		t.Fatalf("a domain without customers is at search version %d, want 0", last)
	}
	step := func(name string, wantMoved bool, write func() error) {
		t.Helper()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := version()
		if moved := v != last; moved != wantMoved {
			t.Errorf("%s: search version %d -> %d, want moved %v", name, last, v, wantMoved)
		}
		last = v
	}

	ada := storetest.NewCustomer(d, "Ada", "Lovelace", "ada@example.com", "")
	step("a customer imported", true, func() error { return s.ImportCustomers(ctx, []customers.Customer{ada}, nil) })
	step("a customer imported by another process", true, func() error {
		return elsewhere.ImportCustomers(ctx, []customers.Customer{storetest.NewCustomer(d, "Bob", "Baker", "bob@example.com", "")}, nil)
	})
	step("a customer of another domain", false, func() error {
		return s.ImportCustomers(ctx, []customers.Customer{storetest.NewCustomer(other, "Eve", "Else", "eve@example.com", "")}, nil)
	})
	cy := storetest.NewCustomer(d, "Cy", "Young", "cy@example.com", "")
	step("a customer created (sign-up, createCustomer)", true, func() error {
		return s.CreateCustomer(ctx, cy, audit.Record{ID: newID.New(), DomainID: d.ID, At: cy.CreatedAt, ActorType: audit.ActorCustomer,
			ActorID: cy.ID, Action: audit.ActionUserCreated, TargetType: audit.TargetCustomer, TargetID: cy.ID, Outcome: audit.OutcomeSuccess})
	})
	step("a customer renamed", true, func() error {
		first, last := "Cyrus", "Young"
		_, err := s.UpdateCustomer(ctx, customers.Update{ID: cy.ID, Version: cy.Version, FirstName: &first, LastName: &last, At: cy.CreatedAt,
			SearchTokens: customers.NameTokens(first, last)})
		return err
	})
	disabled := customers.StatusDisabled
	step("the status changed", true, func() error {
		var err error
		ada, err = s.UpdateCustomer(ctx, customers.Update{ID: ada.ID, Version: ada.Version, Status: &disabled, At: ada.CreatedAt})
		return err
	})
	hash, err := passwords.NewHasher(passwords.OWASP, 1, time.Minute).Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	step("the password hash replaced on sign-in", false, func() error { return s.RehashPassword(ctx, ada.ID, ada.PasswordHash, hash) })
	dev := devices.Device{ID: newID.New(), DomainID: d.ID, CustomerID: ada.ID, Name: "Hall", Model: "T-100", SerialNumber: "T100-VERSION-1",
		Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}, CreatedAt: ada.CreatedAt, UpdatedAt: ada.CreatedAt}
	step("a device added", true, func() error { return s.InsertDevices(ctx, []devices.Device{dev}) })
	dev.Name = "Kitchen"
	rec := audit.Record{ID: newID.New(), DomainID: d.ID, At: ada.CreatedAt, ActorType: audit.ActorCustomer, ActorID: ada.ID,
		Action: audit.ActionDeviceUpdated, TargetType: audit.TargetDevice, TargetID: dev.ID, Outcome: audit.OutcomeSuccess}
	step("a device renamed (no page shows device names)", false, func() error { return s.UpdateDevice(ctx, dev, rec) })
	step("the password hash replaced again", false, func() error { return s.RehashPassword(ctx, ada.ID, hash, ada.PasswordHash) })
	// A rebuilt index may hold customers a deferred bulk load left out.
	step("the labels compacted and the index rebuilt", true, func() error { return s.compactLabels(ctx) })
	step("a customer erased", true, func() error {
		return s.DeleteCustomer(ctx, customers.Erasure{ID: ada.ID, DomainID: d.ID, Version: ada.Version, At: ada.CreatedAt,
			Audit: audit.Record{ID: newID.New(), DomainID: d.ID, At: ada.CreatedAt, ActorType: audit.ActorOperator, ActorID: "op",
				Action: audit.ActionUserDeleted, TargetType: audit.TargetCustomer, TargetID: ada.ID, Outcome: audit.OutcomeSuccess}})
	})
}

// countingStore counts the searches that reach the store.
type countingStore struct {
	*Store
	searches int
}

func (c *countingStore) SearchCustomers(ctx context.Context, q customers.SearchQuery) ([]customers.Hit, error) {
	c.searches++
	return c.Store.SearchCustomers(ctx, q)
}

// A page asked for again, with nothing written in between, comes from the
// cache; a change of another domain does not empty it; one of its own does.
// A page larger than customers.MaxCachedPageSize is read each time.
func TestSearchPagesAreCachedUntilTheirDomainChanges(t *testing.T) {
	ctx := context.Background()
	s, d, mk := newOrderStore(t)
	other := storetest.NewDomain(t, s)
	counting := &countingStore{Store: s}
	svc := customers.NewService(counting, nil, passwords.Policy{}, nil)
	searchPage := func(text string, first int) int {
		t.Helper()
		before := counting.searches
		p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: text, First: first})
		if err != nil || len(p.Hits) == 0 {
			t.Fatalf("search %q: %+v %v", text, p, err)
		}
		return counting.searches - before
	}
	search := func(text string) int { t.Helper(); return searchPage(text, 10) }
	for _, first := range []int{customers.MaxCachedPageSize, customers.MaxCachedPageSize + 1, customers.MaxPageSize} {
		searchPage("zed", first)
		if n, cached := searchPage("zed", first), first <= customers.MaxCachedPageSize; (n == 0) != cached {
			t.Errorf("a page of %d asked for again read the store %d times; cached: want %v", first, n, cached)
		}
	}
	if n := search("zed"); n == 0 {
		t.Fatal("the first search did not read the store")
	}
	if n := search("zed"); n != 0 {
		t.Fatalf("the same search again read the store %d times", n)
	}
	if n := search("aaron"); n == 0 {
		t.Fatal("another text was answered from the cache")
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{storetest.NewCustomer(other, "Zed", "Else", "zed@example.com", "")}, nil); err != nil {
		t.Fatal(err)
	}
	if n := search("zed"); n != 0 {
		t.Fatalf("after a change of another domain the search read the store %d times", n)
	}
	if err := s.ImportCustomers(ctx, []customers.Customer{mk("Zed", "Zephyr", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	if n := search("zed"); n == 0 {
		t.Fatal("after a change of the domain the page came from the cache")
	}
}

// A store whose customers were written before search versions existed gets a
// version for each of their domains from the migration, so that their first
// change moves it (changes of existing customers only move an existing row).
func TestMigrationGivesExistingDomainsASearchVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 16)
	d, ada := newID.New(), newID.New()
	for _, q := range []string{
		`INSERT INTO domains (id, slug, name, default_region, created_at) VALUES ('` + d + `', 'd', 'Domain', 'US', 0)`,
		`INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash, search_tokens, version, created_at,
			updated_at, last_key, first_key, sort_seq) VALUES ('` + ada + `', '` + d + `', 'Ada', 'Lovelace', 'ada@example.com', '', 'ACTIVE', '', 'ada lovelace', 1, 0, 0, 'lovelace', 'ada', 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s := openMigrated(t, db, dir)
	before, err := s.SearchVersion(ctx, d)
	if err != nil || before == 0 {
		t.Fatalf("search version after the migration = %d, %v; want a row", before, err)
	}
	disabled := customers.StatusDisabled
	if _, err := s.UpdateCustomer(ctx, customers.Update{ID: ada, Version: 1, Status: &disabled, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if after, err := s.SearchVersion(ctx, d); err != nil || after == before {
		t.Fatalf("search version after a change = %d (%v), before %d: did not move", after, err, before)
	}
}
