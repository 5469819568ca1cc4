package sqlite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	newids "github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// A bulk load into an empty store that no other process reads (DirLocked)
// writes no search rows; the compaction at its end builds the index, and a
// load into a store that has customers indexes as it goes. Interrupted, the next Reindex (as every command opens
// the store) builds it.
func TestBulkLoadIntoAnEmptyStoreDefersTheSearchIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, DirLocked())
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	if err := s.SetSearchTokenRules(ctx, customers.TokenRules); err != nil {
		t.Fatal(err)
	}
	batch := func(name string, n int) []customers.Customer {
		var cs []customers.Customer
		for i := range n {
			cs = append(cs, storetest.NewCustomer(d, name, fmt.Sprintf("Loaded%03d", i), fmt.Sprintf("%s%03d@example.com", name, i), ""))
		}
		return cs
	}
	found := func(term string) int64 {
		t.Helper()
		n, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{term}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	rules := func() int {
		t.Helper()
		r, err := s.SearchTokenRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	nameIndexesPresent := func(when string, want int) {
		t.Helper()
		var n int
		err := s.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name IN (?, ?)`,
			nameIndexes[0].name, nameIndexes[1].name).Scan(&n)
		if err != nil || n != want {
			t.Fatalf("%s: %d of the name-order indexes exist (%v), want %d", when, n, err, want)
		}
	}
	nameIndexesPresent("in a new store", 2)
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex on an empty store = %v, %v; want true", deferred, err)
	}
	nameIndexesPresent("during the deferred load", 0)
	loaded := batch("ann", 50)
	slices.Reverse(loaded) // in two batches, each against name order
	if err := s.ImportCustomers(ctx, loaded[:25], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportCustomers(ctx, loaded[25:], nil); err != nil {
		t.Fatal(err)
	}
	// Labels are taken in turn meanwhile, not in name order, out of the way
	// of the compaction's.
	if got, err := labels(ctx, s.read, `SELECT sort_seq FROM customers ORDER BY sort_seq`); err != nil || len(got) != 50 || got[0] != relabelOffset || got[49] != relabelOffset+49 {
		t.Fatalf("labels during the deferred load: %v %v; want relabelOffset to relabelOffset+49", got, err)
	}
	if n := found("ann"); n != 0 {
		t.Fatalf("during the deferred load a search found %d customers, want none (no search rows written)", n)
	}
	// A search page cached meanwhile is not served once the index is built.
	svc := customers.NewService(s, nil, passwords.Policy{}, nil)
	page := func() int {
		t.Helper()
		p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: "ann", First: 100})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(p.Hits); i++ {
			if p.Hits[i-1].Customer.LastName >= p.Hits[i].Customer.LastName {
				t.Fatalf("search page out of name order: %s before %s", p.Hits[i-1].Customer.LastName, p.Hits[i].Customer.LastName)
			}
		}
		return len(p.Hits)
	}
	if n := page(); n != 0 {
		t.Fatalf("during the deferred load a search page held %d customers, want none", n)
	}
	if r := rules(); r != 0 {
		t.Fatalf("search token rules during the deferred load = %d, want 0 (the next Reindex builds the index)", r)
	}
	if err := customers.OptimizeAfterBulkLoad(ctx, s, 50); err != nil {
		t.Fatal(err)
	}
	if n := found("ann"); n != 50 {
		t.Fatalf("after the load a search found %d customers, want 50", n)
	}
	if n := page(); n != 50 {
		t.Fatalf("after the load the search page held %d customers, want 50 (a page cached during the load was served)", n)
	}
	requireCompactLabels(t, s, "after the deferred load")
	nameIndexesPresent("after the deferred load", 2)
	if r := rules(); r != customers.TokenRules {
		t.Fatalf("search token rules after the load = %d, want %d", r, customers.TokenRules)
	}
	// The build held FTS5's merges back; the writes that follow merge as usual.
	for k, want := range map[string]int{"automerge": 4, "crisismerge": 16} {
		var v int
		if err := s.read.QueryRowContext(ctx, `SELECT v FROM customer_search_config WHERE k = ?`, k).Scan(&v); err != nil || v != want {
			t.Fatalf("FTS5 %s after the build = %d (%v), want %d", k, v, err, want)
		}
	}

	// The store has customers now: a load indexes as it goes.
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || deferred {
		t.Fatalf("DeferSearchIndex on a store with customers = %v, %v; want false", deferred, err)
	}
	if err := s.ImportCustomers(ctx, batch("bob", 20), nil); err != nil {
		t.Fatal(err)
	}
	if n := found("bob"); n != 20 {
		t.Fatalf("a load into a store with customers: found %d at once, want 20", n)
	}
	// Customers given without tokens (by an import that began while a load
	// deferred the index, and so derived none: DerivesSearchTokens) get
	// those customers.SearchTokens derives, with their devices.
	bare := batch("dee", 3)
	for i := range bare {
		bare[i].Phone, bare[i].SearchTokens = fmt.Sprintf("+1 (555) 010-01%02d", i), nil
	}
	dev := devices.Device{ID: newids.New(), DomainID: d.ID, CustomerID: bare[0].ID, Name: "Hall", Model: "T-100",
		SerialNumber: "QX77-2025-HALL", Settings: devices.Settings{TargetTemperature: 20, Mode: devices.ModeAuto}}
	if err := s.ImportCustomers(ctx, bare, []devices.Device{dev}); err != nil {
		t.Fatal(err)
	}
	for term, want := range map[string]int64{"dee": 3, "555010": 3, "0101": 1, "qx77": 1} {
		if n := found(term); n != want {
			t.Errorf("customers imported without tokens: %q found %d, want %d", term, n, want)
		}
	}

	// Interrupted: a store emptied and loaded again, closed before the end.
	if _, err := s.write.ExecContext(ctx, `DELETE FROM devices`); err != nil {
		t.Fatal(err)
	}
	for _, c := range slices.Concat(batch("ann", 50), batch("bob", 20), bare) {
		if _, err := s.write.ExecContext(ctx, `DELETE FROM customers WHERE email = ?`, c.Email); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO customer_search (customer_search) VALUES ('delete-all')`); err != nil {
		t.Fatal(err)
	}
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex on the emptied store = %v, %v; want true", deferred, err)
	}
	if err := s.ImportCustomers(ctx, batch("cy", 30), nil); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(ctx)
	if s, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n := found("cy"); n != 0 {
		t.Fatalf("after the interruption a search found %d, want none yet", n)
	}
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex after an interrupted load = %v, %v; want true (the index is still missing rows)", deferred, err)
	}
	if _, err := customers.Reindex(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if n := found("cy"); n != 30 {
		t.Fatalf("after Reindex a search found %d, want 30", n)
	}
	nameIndexesPresent("after Reindex", 2)
	if r := rules(); r != customers.TokenRules {
		t.Fatalf("search token rules after Reindex = %d, want %d", r, customers.TokenRules)
	}
}

// A bulk load into a store that has customers indexes them as it goes, with
// FTS5's merges held until OptimizeAfterBulkLoad (or, interrupted, the next
// Open) lets them run again and merges what waited.
func TestBulkLoadIntoAStoreWithCustomersHoldsSearchMerges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	load := func(name string, n int) {
		t.Helper()
		var cs []customers.Customer
		for i := range n {
			cs = append(cs, storetest.NewCustomer(d, name, fmt.Sprintf("Held%03d", i), fmt.Sprintf("%s%03d@example.com", name, i), ""))
		}
		if err := s.ImportCustomers(ctx, cs, nil); err != nil {
			t.Fatal(err)
		}
	}
	settings := func() (automerge, crisismerge string, held bool) {
		t.Helper()
		q := `SELECT COALESCE((SELECT v FROM customer_search_config WHERE k = ?), 'default')`
		if err := s.write.QueryRowContext(ctx, q, "automerge").Scan(&automerge); err != nil {
			t.Fatal(err)
		}
		if err := s.write.QueryRowContext(ctx, q, "crisismerge").Scan(&crisismerge); err != nil {
			t.Fatal(err)
		}
		if err := s.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM store_meta WHERE key = ?)`, searchMergesHeldKey).Scan(&held); err != nil {
			t.Fatal(err)
		}
		return automerge, crisismerge, held
	}
	requireMerging := func(when string) {
		t.Helper()
		if a, c, held := settings(); a != "4" || c != "16" || held {
			t.Fatalf("%s: automerge %s, crisismerge %s, held %v; want FTS5's 4 and 16, not held", when, a, c, held)
		}
	}
	load("Ann", 10)

	for round, end := range []string{"OptimizeAfterBulkLoad", "Open after an interruption"} {
		name := []string{"Bea", "Cy"}[round]
		if deferred, err := s.DeferSearchIndex(ctx); err != nil || deferred {
			t.Fatalf("DeferSearchIndex of a store with customers = %v, %v; want the index written as the load goes", deferred, err)
		}
		if a, c, held := settings(); a != "0" || c != fmt.Sprint(heldCrisisMerge) || !held {
			t.Fatalf("during a load: automerge %s, crisismerge %s, held %v; want 0, %d, held", a, c, held, heldCrisisMerge)
		}
		load(name, 30)
		if n, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{strings.ToLower(name)}}); err != nil || n != 30 {
			t.Fatalf("during a load, a search found %d of its 30 customers (%v)", n, err)
		}
		if end == "OptimizeAfterBulkLoad" {
			if err := s.OptimizeAfterBulkLoad(ctx, 30); err != nil {
				t.Fatal(err)
			}
		} else {
			_ = s.Close(ctx)
			if s, err = Open(ctx, dir); err != nil {
				t.Fatal(err)
			}
		}
		requireMerging("after " + end)
		if _, err := s.write.ExecContext(ctx, `INSERT INTO customer_search (customer_search, rank) VALUES ('integrity-check', 0)`); err != nil {
			t.Fatalf("search index after %s: %v", end, err)
		}
	}
	_ = s.Close(ctx)
}

// A bulk load into an empty store that no other process writes (DirLocked)
// drops the unique indexes of emails, external ids and serial numbers too,
// and the compaction at its end builds them as the migrations defined them.
// Interrupted, the next Reindex builds them, or the next load before it
// matches a record. A store another process may write keeps them.
func TestBulkLoadThatHasTheStoreToItselfDefersTheKeyIndexes(t *testing.T) {
	ctx := context.Background()
	migrated, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close(ctx)
	definitions := func(s *Store) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, ix := range keyIndexes {
			var sql string
			if err := s.write.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?`, ix.name).Scan(&sql); err == nil {
				out[ix.name] = sql
			}
		}
		return out
	}
	want := definitions(migrated)
	if len(want) != len(keyIndexes) {
		t.Fatalf("a migrated store has key indexes %v, want all of %v", want, keyIndexes)
	}
	keysDeferred := func(s *Store, when string, deferred bool) {
		t.Helper()
		got := definitions(s)
		if deferred && len(got) != 0 || !deferred && !maps.Equal(got, want) {
			t.Fatalf("%s: key indexes %v, want deferred %v (as migrated: %v)", when, got, deferred, want)
		}
		if d, err := s.KeyIndexesDeferred(ctx); err != nil || d != deferred {
			t.Fatalf("%s: KeyIndexesDeferred = %v, %v; want %v", when, d, err, deferred)
		}
	}
	load := func(s *Store, d domains.Domain, name string) []customers.Customer {
		t.Helper()
		var cs []customers.Customer
		for i := range 20 {
			cs = append(cs, storetest.NewCustomer(d, name, fmt.Sprintf("Key%03d", i), fmt.Sprintf("%s%03d@example.com", name, i), ""))
			cs[i].ExternalID = fmt.Sprint(name, i)
		}
		ds := []devices.Device{{ID: newids.New(), DomainID: d.ID, CustomerID: cs[0].ID, Name: "Plug", Model: "Plug", SerialNumber: name + "-1"}}
		if err := s.ImportCustomers(ctx, cs, ds); err != nil {
			t.Fatal(err)
		}
		return cs
	}
	conflicts := func(s *Store, when string, d domains.Domain, taken customers.Customer) {
		t.Helper()
		email := storetest.NewCustomer(d, "Other", "Customer", taken.Email, "")
		external := storetest.NewCustomer(d, "Other", "Customer", "other@example.com", "")
		external.ExternalID = taken.ExternalID
		for _, c := range []customers.Customer{email, external} {
			if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); !errors.Is(err, apperr.ErrConflict) {
				t.Fatalf("%s: a customer with a taken key: %v, want a conflict", when, err)
			}
		}
		dev := devices.Device{ID: newids.New(), DomainID: d.ID, CustomerID: taken.ID, Name: "Plug", Model: "Plug", SerialNumber: taken.FirstName + "-1"}
		if err := s.InsertDevices(ctx, []devices.Device{dev}); !errors.Is(err, apperr.ErrConflict) {
			t.Fatalf("%s: a device with a taken serial number: %v, want a conflict", when, err)
		}
	}

	// Another process (a server) may read and write the store: nothing is
	// deferred, and what the load writes is found at once, even if it stops
	// there.
	if deferred, err := customers.DeferSearchIndex(ctx, migrated); err != nil || deferred {
		t.Fatalf("DeferSearchIndex on an empty store opened without DirLocked = %v, %v; want false", deferred, err)
	}
	keysDeferred(migrated, "a load into a store opened without DirLocked", false)
	other := storetest.NewDomain(t, migrated)
	load(migrated, other, "dee")
	if n, err := migrated.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: other.ID, Terms: []string{"dee"}}); err != nil || n != 20 {
		t.Fatalf("a load into a store opened without DirLocked: a search found %d (%v) at once, want 20", n, err)
	}

	dir := t.TempDir()
	s, err := Open(ctx, dir, DirLocked())
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex = %v, %v", deferred, err)
	}
	keysDeferred(s, "during a load into an empty store opened DirLocked", true)
	ann := load(s, d, "ann")
	if err := customers.OptimizeAfterBulkLoad(ctx, s, len(ann)); err != nil {
		t.Fatal(err)
	}
	keysDeferred(s, "after the load", false)
	conflicts(s, "after the load", d, ann[0])

	// interrupted loads 20 customers into a new store opened DirLocked,
	// closes it before the load ends, and opens it again with opts.
	interrupted := func(name string, opts ...Option) (*Store, domains.Domain, []customers.Customer) {
		t.Helper()
		dir := t.TempDir()
		s, err := Open(ctx, dir, DirLocked())
		if err != nil {
			t.Fatal(err)
		}
		d := storetest.NewDomain(t, s)
		if _, err := customers.DeferSearchIndex(ctx, s); err != nil {
			t.Fatal(err)
		}
		cs := load(s, d, name)
		_ = s.Close(ctx)
		if s, err = Open(ctx, dir, opts...); err != nil {
			t.Fatal(err)
		}
		return s, d, cs
	}

	// Interrupted, then opened as every command opens the store.
	_ = s.Close(ctx)
	s, d, bob := interrupted("bob")
	keysDeferred(s, "after an interrupted load", true)
	if _, err := customers.Reindex(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	keysDeferred(s, "after Reindex", false)
	conflicts(s, "after Reindex", d, bob[0])
	_ = s.Close(ctx)

	// Interrupted, then loaded again: the key indexes come first.
	s, d, cy := interrupted("cy", DirLocked())
	defer s.Close(ctx)
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex after an interrupted load = %v, %v; want true", deferred, err)
	}
	keysDeferred(s, "a load after an interrupted one", false)
	conflicts(s, "a load after an interrupted one", d, cy[0])
}

// The compaction after a deferred load (and a rebuild of the search index)
// reads every device apart from its customer (fillWholeSearchIndex): each
// customer is found by each of its devices' serial numbers and MAC
// addresses, and by no other's, though the devices were stored in another
// order than their customers' names.
func TestCompactionIndexesEachCustomersOwnDevices(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), DirLocked())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	d := storetest.NewDomain(t, s)
	if err := s.SetSearchTokenRules(ctx, customers.TokenRules); err != nil {
		t.Fatal(err)
	}
	if deferred, err := customers.DeferSearchIndex(ctx, s); err != nil || !deferred {
		t.Fatalf("DeferSearchIndex on an empty store = %v, %v; want true", deferred, err)
	}
	const n = 40
	var cs []customers.Customer
	var ds []devices.Device
	owner := map[string]string{} // search term -> the id of the customer it must find alone
	for i := range n {
		c := storetest.NewCustomer(d, "Owner", fmt.Sprintf("Zed%02d", n-i), fmt.Sprintf("owner%02d@example.com", i), "")
		c.SearchTokens = nil // the store derives them, as for an import (DerivesSearchTokens)
		cs = append(cs, c)
		for j := range i % 4 { // 0 to 3 devices
			dev := devices.Device{ID: newids.New(), DomainID: d.ID, CustomerID: c.ID, Name: "Plug", Model: "Plug",
				SerialNumber: fmt.Sprintf("SN%02d-%d", i, j), MACAddress: fmt.Sprintf("02:00:00:00:%02X:%02X", i, j)}
			ds = append(ds, dev)
			owner[strings.ToLower(dev.SerialNumber)] = c.ID
			owner[strings.ToLower(strings.ReplaceAll(dev.MACAddress, ":", ""))] = c.ID
		}
	}
	// Names run against the order of the file: the customers stored first
	// (and their devices) have the last labels.
	for _, half := range [][2]int{{0, n / 2}, {n / 2, n}} {
		var batchDevices []devices.Device
		for _, dev := range ds {
			if slices.ContainsFunc(cs[half[0]:half[1]], func(c customers.Customer) bool { return c.ID == dev.CustomerID }) {
				batchDevices = append(batchDevices, dev)
			}
		}
		if err := s.ImportCustomers(ctx, cs[half[0]:half[1]], batchDevices); err != nil {
			t.Fatal(err)
		}
	}
	svc := customers.NewService(s, nil, passwords.Policy{}, nil)
	check := func(when string) {
		t.Helper()
		for term, id := range owner {
			p, err := svc.Search(ctx, d.ID, customers.SearchRequest{Text: term, First: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Hits) != 1 || p.Hits[0].Customer.ID != id {
				var got []string
				for _, h := range p.Hits {
					got = append(got, h.Customer.Email)
				}
				t.Errorf("%s: %q found %v, want its owner alone", when, term, got)
			}
		}
		if got, err := s.CountCustomerMatches(ctx, customers.SearchQuery{DomainID: d.ID, Terms: []string{"owner"}}); err != nil || got != n {
			t.Errorf("%s: \"owner\" found %d customers (%v), want %d", when, got, err, n)
		}
	}
	if err := customers.OptimizeAfterBulkLoad(ctx, s, n); err != nil {
		t.Fatal(err)
	}
	check("after the load's compaction")
	if err := s.RebuildSearchIndex(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild of the index")
}

// The writer sorts with a helper thread a core (the indexes a bulk load
// deferred are built by sorting every row); the readers, whose sorts are a
// page of results, with none.
func TestWriterSortsOnEveryCore(t *testing.T) {
	ctx := context.Background()
	for _, opts := range [][]Option{nil, {DirLocked()}} {
		s, err := Open(ctx, t.TempDir(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		var writer, reader int
		if err := s.write.QueryRowContext(ctx, `PRAGMA threads`).Scan(&writer); err != nil {
			t.Fatal(err)
		}
		if err := s.read.QueryRowContext(ctx, `PRAGMA threads`).Scan(&reader); err != nil {
			t.Fatal(err)
		}
		if want := min(runtime.GOMAXPROCS(0), 8); writer != want || reader != 0 {
			t.Errorf("DirLocked %v: threads %d for the writer (want %d), %d for the readers (want 0)", opts != nil, writer, want, reader)
		}
		_ = s.Close(ctx)
	}
}
