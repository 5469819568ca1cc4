package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/audit"
	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/devices"
	"github.com/iotconsole/bff/internal/domains"
	newids "github.com/iotconsole/bff/internal/ids"
	"github.com/iotconsole/bff/internal/passwords"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// A store at the version before devices had serial numbers, with devices in
// two domains (ids.New's ids and an older, hand-made one), opens at the
// newest version with every device given a serial number unique in its
// domain and a MAC address: devices.BackfillSerial's and BackfillMAC's, as
// the MongoDB store gives them. The unique index holds afterwards.
func TestMigrationGivesDevicesSerialNumbersAndMACs(t *testing.T) {
	ctx := context.Background()
	serials := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "ADD COLUMN serial_number") })
	if serials < 0 {
		t.Fatal("no migration adds serial numbers")
	}
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=foreign_keys(ON)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{write: db}
	if err := old.migrateTo(ctx, serials); err != nil { // the version before
		t.Fatal(err)
	}
	exec := execOrFail(t, db)
	models := []string{"Thermostat T-100", "Thermostat T-200", "Heat Pump HP-9", "Smart Plug P3", ""}
	type row struct{ id, domain, model string }
	var rows []row
	seq := 0
	for _, domain := range []string{newids.New(), newids.New()} {
		exec(`INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, ?, ?, 'US', 0)`, domain, "d-"+domain[20:], "Domain")
		for c := range 20 {
			customer := newids.New()
			seq++
			exec(`INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash, search_tokens,
				version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (?, ?, 'Ada', 'Lovelace', ?, '', 'ACTIVE', 'x', '', 1, 0, 0, 'lovelace', 'ada', ?)`,
				customer, domain, fmt.Sprintf("ada%d@example.com", c), seq)
			for i := range c % 4 {
				id := newids.New()
				if c == 7 && i == 0 {
					id = "legacy-device-" + domain[24:] // ids before ids.New's form
				}
				model := models[(c+i)%len(models)]
				exec(`INSERT INTO devices (id, domain_id, customer_id, name, model, online, target_temperature, mode, notifications,
					created_at, updated_at) VALUES (?, ?, ?, 'Hall', ?, 1, 20, 'AUTO', 1, 0, 0)`, id, domain, customer, model)
				rows = append(rows, row{id, domain, model})
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("open at the newest version: %v", err)
	}
	defer s.Close(ctx)
	var version int
	if err := s.read.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("schema version %d, %v; want %d", version, err, len(migrations))
	}
	seen := map[string]bool{} // domain and serial number
	var first devices.Device
	for _, r := range rows {
		d, err := s.DeviceByID(ctx, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if d.SerialNumber != devices.BackfillSerial(r.id, r.model) || d.MACAddress != devices.BackfillMAC(r.id) {
			t.Fatalf("device %s of model %q got %q and %q; want %q and %q", r.id, r.model, d.SerialNumber, d.MACAddress,
				devices.BackfillSerial(r.id, r.model), devices.BackfillMAC(r.id))
		}
		if got, err := devices.ParseSerial(d.SerialNumber); err != nil || got != d.SerialNumber {
			t.Fatalf("serial number %q is not in the stored form: %q, %v", d.SerialNumber, got, err)
		}
		if got, err := devices.ParseMAC(d.MACAddress); err != nil || got != d.MACAddress || got == "" {
			t.Fatalf("MAC address %q is not in the stored form: %q, %v", d.MACAddress, got, err)
		}
		key := r.domain + " " + d.SerialNumber
		if seen[key] {
			t.Fatalf("two devices of domain %s got serial number %s", r.domain, d.SerialNumber)
		}
		seen[key] = true
		if first.ID == "" {
			first = d
		}
	}
	if len(rows) < 40 {
		t.Fatalf("only %d devices: the test proves little", len(rows))
	}
	t.Logf("%d devices, for example %s and %s", len(rows), first.SerialNumber, first.MACAddress)

	again := first
	again.ID = newids.New()
	if err := s.InsertDevices(ctx, []devices.Device{again}); !errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("a second device with serial number %s in its domain: %v, want a conflict", first.SerialNumber, err)
	}
}

// A store at version 17 opens with the leaner indexes of migration 18 (the
// index of customers by status holds the ones not ACTIVE only, devices are
// indexed by customer alone), and the pages the old ones took go back to the
// file system.
func TestMigrationToLeanerIndexesGivesTheirPagesBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 17)
	domain := newids.New()
	if _, err := db.ExecContext(ctx, `INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, 'd', 'Domain', 'US', 0)`, domain); err != nil {
		t.Fatal(err)
	}
	for c := range 3000 {
		customer := newids.New()
		if _, err := db.ExecContext(ctx, `INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash, search_tokens,
			version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (?, ?, 'Ada', 'Lovelace', ?, '', 'ACTIVE', 'x', '', 1, 0, 0, 'lovelace', 'ada', ?)`,
			customer, domain, fmt.Sprintf("ada%d@example.com", c), c); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO devices (id, domain_id, customer_id, name, model, online, target_temperature, mode, notifications,
			created_at, updated_at, serial_number, mac_address) VALUES (?, ?, ?, 'Living room thermostat', 'T-100', 1, 20, 'AUTO', 1, 0, 0, ?, '')`,
			newids.New(), domain, customer, fmt.Sprintf("SN-%d", c)); err != nil {
			t.Fatal(err)
		}
	}
	s := openMigrated(t, db, dir)
	var free int
	if err := s.read.QueryRowContext(ctx, `SELECT freelist_count FROM pragma_freelist_count`).Scan(&free); err != nil || free != 0 {
		t.Errorf("%d free pages left in the file (%v), want 0", free, err)
	}
	for name, want := range map[string]string{
		"customers_domain_status_name": "WHERE status != " + activeStatus,
		"devices_customer":             "ON devices (customer_rid)",
	} {
		var def string
		if err := s.read.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = ?`, name).Scan(&def); err != nil || !strings.Contains(def, want) {
			t.Errorf("index %s is %q (%v), want it to hold %q", name, def, err, want)
		}
	}
}

// Migration 21 records the region each stored phone number was read in, its
// domain's at the upgrade, so that after a later change of the domain's
// region the rebuilt search index still finds the number in the forms it
// was written in.
func TestMigrationKeepsTheRegionPhoneNumbersWereReadIn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 20)
	domain, withPhone, without := newids.NewShort(), newids.New(), newids.New()
	if _, err := db.ExecContext(ctx, `INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, 'd', 'Domain', 'US', 0)`, domain); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ id, phone string }{{withPhone, "(415) 555-0199"}, {without, ""}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash,
			version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (?, ?, 'Ada', 'Lovelace', ?, ?, 'ACTIVE', 'x', 1, 0, 0, 'lovelace', 'ada', ?)`,
			c.id, domain, fmt.Sprintf("ada%d@example.com", i), c.phone, i*64); err != nil {
			t.Fatal(err)
		}
	}
	s := openMigrated(t, db, dir)
	for id, want := range map[string]string{withPhone: "US", without: ""} {
		if c, err := s.CustomerByID(ctx, id); err != nil || c.PhoneRegion != want {
			t.Errorf("PhoneRegion = %q (%v), want %q", c.PhoneRegion, err, want)
		}
	}
	d, err := s.DomainByID(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	d.DefaultRegion = "GB"
	if err := s.UpdateDomain(ctx, d, audit.Record{ID: newids.New(), DomainID: d.ID, ActorType: audit.ActorOperator, ActorID: "op",
		Action: audit.ActionDomainUpdated, TargetType: audit.TargetDomain, TargetID: d.ID, Outcome: audit.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if _, err := customers.Reindex(ctx, s, nil); err != nil { // migration 20 left it to do
		t.Fatal(err)
	}
	page, err := customers.NewService(s, nil, passwords.Policy{}, time.Now).Search(ctx, domain, customers.SearchRequest{Text: "+1 415 555 0199", First: 5})
	if err != nil || len(page.Hits) != 1 || page.Hits[0].Customer.ID != withPhone {
		t.Errorf("after the region changed to GB, the number written under US finds %+v, %v", page.Hits, err)
	}
}

// Open tells BeforeMigrations which versions it is about to migrate a file
// from and to, and calls it neither for a new file nor for one at the newest
// version.
func TestBeforeMigrationsIsToldOfAnUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 17)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var upgrades [][2]int
	record := BeforeMigrations(func(from, to int) { upgrades = append(upgrades, [2]int{from, to}) })
	for i, d := range []string{dir, dir, t.TempDir()} { // the old file, the same file again, a new one
		s, err := Open(ctx, d, record)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if want := [][2]int{{17, len(migrations)}}; !slices.Equal(upgrades, want) {
			t.Fatalf("after opening %d stores, BeforeMigrations was called with %v, want %v", i+1, upgrades, want)
		}
	}
}

// execOrFail returns a function that runs a statement on db and ends the
// test if it fails.
func execOrFail(t *testing.T, db *sql.DB) func(query string, args ...any) {
	return func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
}

// openMigrated closes db, the file of dir that databaseAtVersion made and
// the test filled, and returns the store Open makes of it, closed when the
// test ends.
func openMigrated(t *testing.T, db *sql.DB, dir string) *Store {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// databaseAtVersion creates the database file of dir with the schema of the
// first version migrations, as Open would have left it then (auto-vacuum
// incremental), and returns it open for the test to fill before Open.
func databaseAtVersion(t *testing.T, dir string, version int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=auto_vacuum(INCREMENTAL)&_pragma=foreign_keys(ON)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Store{write: db}).migrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db
}

// Migration 22 gives devices their customer's number instead of its id, and
// keeps ids of ids.New's form as their 16 bytes and argon2id password hashes
// compact (read back as they were written): a store at version 21
// (customers with none to three devices, rowids with a gap where one was
// deleted, one customer and device with hand-made ids) opens with every
// device still its customer's, read either way (by customer, by id), found
// by its serial number in a search, and still so after VACUUM (what server
// backup writes).
func TestMigrationNamesDevicesCustomersByNumber(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 21)
	domain := newids.NewShort()
	exec := execOrFail(t, db)
	exec(`INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, 'd', 'Domain', 'US', 0)`, domain)
	want := map[string][]string{} // customer id -> its devices' serial numbers
	var gone, hashed string
	argon2id := passwords.Encode(passwords.OWASP, "correct horse battery staple")
	for c := range 30 {
		customer, hash := newids.New(), "x"
		switch c {
		case 7:
			customer = "legacy-customer-7"
		case 9:
			hashed, hash = customer, argon2id
		}
		exec(`INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash,
			version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (?, ?, 'Ada', 'Lovelace', ?, '', 'ACTIVE', ?, 1, 0, 0, 'lovelace', 'ada', ?)`,
			customer, domain, fmt.Sprintf("ada%d@example.com", c), hash, c*64)
		for i := range c % 4 {
			serial, id := fmt.Sprintf("SN-%d-%d", c, i), newids.New()
			if c == 7 {
				id = fmt.Sprintf("legacy-device-%d", i)
			}
			exec(`INSERT INTO devices (id, domain_id, customer_id, name, model, online, target_temperature, mode, notifications,
				created_at, updated_at, serial_number, mac_address) VALUES (?, ?, ?, ?, 'T-100', 1, 20, 'AUTO', 1, 0, 0, ?, '')`,
				id, domain, customer, fmt.Sprintf("Device %d", i), serial)
			want[customer] = append(want[customer], serial)
		}
		if c == 4 {
			gone = customer
		}
	}
	exec(`DELETE FROM devices WHERE customer_id = ?`, gone)
	exec(`DELETE FROM customers WHERE id = ?`, gone)
	delete(want, gone)
	s := openMigrated(t, db, dir)

	var oldColumn int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('devices') WHERE name = 'customer_id'`).Scan(&oldColumn); err != nil || oldColumn != 0 {
		t.Fatalf("devices still have a customer_id column (%d, %v)", oldColumn, err)
	}
	for _, table := range []string{"customers", "devices"} {
		var texts, blobs int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE typeof(id) = 'text'), COUNT(*) FILTER (WHERE typeof(id) = 'blob') FROM `+table).Scan(&texts, &blobs); err != nil {
			t.Fatal(err)
		}
		if wantTexts := map[string]int{"customers": 1, "devices": 3}[table]; texts != wantTexts || blobs == 0 {
			t.Errorf("%s: %d ids kept as text, %d as bytes; want the %d hand-made as text, the rest as bytes", table, texts, blobs, wantTexts)
		}
	}
	var compacted int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE typeof(password_hash) = 'blob'`).Scan(&compacted); err != nil || compacted != 1 {
		t.Errorf("%d password hashes compacted (%v), want the argon2id one", compacted, err)
	}
	for id, hash := range map[string]string{hashed: argon2id, "legacy-customer-7": "x"} {
		if c, err := s.CustomerByID(ctx, id); err != nil || c.PasswordHash != hash {
			t.Errorf("customer %s's password hash reads %q (%v), want %q", id, c.PasswordHash, err, hash)
		}
	}
	if _, err := customers.Reindex(ctx, s, nil); err != nil { // the search rows of customers written by hand above
		t.Fatal(err)
	}
	search := customers.NewService(s, nil, passwords.Policy{}, time.Now).Search
	check := func(when string) {
		t.Helper()
		for customer, serials := range want {
			ds, err := s.DevicesByCustomer(ctx, customer)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.SerialNumber)
				if one, err := s.DeviceByID(ctx, d.ID); err != nil || one.CustomerID != customer {
					t.Errorf("%s: device %s belongs to %q (%v), want %s", when, d.ID, one.CustomerID, err, customer)
				}
			}
			if !slices.Equal(got, serials) {
				t.Errorf("%s: customer %s has devices %v, want %v", when, customer, got, serials)
			}
			page, err := search(ctx, domain, customers.SearchRequest{Text: serials[0], First: 5})
			if err != nil || len(page.Hits) == 0 || page.Hits[0].Customer.ID != customer || !page.Hits[0].Cursor.Exact {
				t.Errorf("%s: a search of %s finds %+v (%v), want customer %s first, exactly", when, serials[0], page.Hits, err, customer)
			}
		}
	}
	check("after the migration")
	if _, err := s.write.ExecContext(ctx, `VACUUM`); err != nil {
		t.Fatal(err)
	}
	check("after VACUUM")
}

// Migration 23 numbers the domains in the order of their ids, the order the
// labels kept until then, and keeps MAC addresses as bytes: a store at
// version 22 with two domains made in the other order (customers with
// devices in each) opens with every customer, label and device as it was
// (a device found by its MAC address), each domain's customers found by its searches
// only and in name order; a domain made after the migration, whose id sorts
// before the others', takes the next number, and its customers, and those
// added to the older domains, are found in their own domain only.
func TestMigrationNumbersDomainsInTheOrderOfTheirIds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 22)
	exec := execOrFail(t, db)
	lastNames := []string{"Adams", "Baker", "Clark", "Davis"}
	domainIDs := []string{"dom-second", "dom-first"} // made in this order; "dom-first" sorts first
	for i, domain := range domainIDs {
		exec(`INSERT INTO domains (id, slug, name, default_region, created_at) VALUES (?, ?, ?, 'US', 0)`, domain, fmt.Sprint("d", i), domain)
	}
	labelOf := map[string]int64{} // customer id -> its label
	macOf := map[string]string{}  // customer id -> its device's MAC address
	label := int64(0)
	for _, domain := range []string{"dom-first", "dom-second"} { // labels in the domains' id order
		for _, last := range lastNames {
			id := newids.New()
			labelOf[id] = label
			exec(`INSERT INTO customers (id, domain_id, first_name, last_name, email, phone, status, password_hash,
				version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (unhex(?), ?, 'Ann', ?, ?, '', 'ACTIVE', 'x', 1, 0, 0, ?, 'ann', ?)`,
				id, domain, last, strings.ToLower(last)+"@"+domain+".test", strings.ToLower(last), label)
			mac := map[string]string{"Adams": "02:10:C0:66:84:7A", "Baker": "", "Clark": "legacy mac"}[last]
			if last == "Davis" {
				mac = fmt.Sprintf("02:10:C0:00:00:%02X", len(labelOf))
			}
			macOf[id] = mac
			exec(`INSERT INTO devices (id, domain_id, customer_rid, name, model, serial_number, mac_address, online, target_temperature, mode,
				notifications, created_at, updated_at) VALUES (unhex(?), ?, (SELECT rid FROM customers WHERE id = unhex(?)), 'Hall', 'T-100', ?, ?, 1, 20, 'AUTO', 1, 0, 0)`,
				newids.New(), domain, id, "SN-"+last, mac)
			label += labelStep
		}
	}
	s := openMigrated(t, db, dir)

	numbers := map[string]int{}
	for _, domain := range domainIDs {
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT number FROM domains WHERE id = ?`, domain).Scan(&n); err != nil {
			t.Fatal(err)
		}
		numbers[domain] = n
	}
	if numbers["dom-first"] != 1 || numbers["dom-second"] != 2 {
		t.Errorf("domains numbered %v, want them in the order of their ids", numbers)
	}
	for id, want := range labelOf {
		var got int64
		if err := s.read.QueryRowContext(ctx, `SELECT sort_seq FROM customers WHERE id = ?`, idKey(id)).Scan(&got); err != nil || got != want {
			t.Errorf("customer %s has label %d (%v), want %d as before", id, got, err, want)
		}
	}
	if _, err := customers.Reindex(ctx, s, nil); err != nil { // the search rows of customers written by hand above
		t.Fatal(err)
	}
	newer := domains.Domain{ID: "dom-0-newest", Slug: "newest", Name: "Newest", DefaultRegion: "US", SignUpPolicy: domains.SignUpClosed,
		CreatedAt: time.Now(), AssistConsent: domains.AssistConsentNone}
	if err := s.CreateDomain(ctx, newer); err != nil {
		t.Fatal(err)
	}
	var newest int
	if err := s.read.QueryRowContext(ctx, `SELECT number FROM domains WHERE id = ?`, newer.ID).Scan(&newest); err != nil || newest != 3 {
		t.Errorf("a domain made after the migration has number %d (%v), want 3", newest, err)
	}
	added := map[string]string{} // domain id -> the customer added to it
	for _, domain := range append(domainIDs, newer.ID) {
		c := storetest.NewCustomer(domains.Domain{ID: domain, DefaultRegion: "US"}, "Ann", "Abbott", "abbott@"+domain+".test", "")
		if err := s.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
			t.Fatal(err)
		}
		added[domain] = c.ID
	}
	search := customers.NewService(s, nil, passwords.Policy{}, time.Now).Search
	for _, domain := range append(domainIDs, newer.ID) {
		page, err := search(ctx, domain, customers.SearchRequest{Text: "ann", First: 20})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range page.Hits {
			if h.Customer.DomainID != domain {
				t.Errorf("a search in %s found %s of domain %s", domain, h.Customer.ID, h.Customer.DomainID)
			}
			got = append(got, h.Customer.LastName)
		}
		want := []string{"Abbott"}
		if domain != newer.ID {
			want = append(want, lastNames...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("a search of ann in %s finds %v, want %v", domain, got, want)
		}
		if c, err := s.CustomerByEmail(ctx, domain, "abbott@"+domain+".test"); err != nil || c.ID != added[domain] || c.DomainID != domain {
			t.Errorf("customer by email in %s: %+v, %v", domain, c, err)
		}
		if n, err := s.CountCustomers(ctx, domain); err != nil || n != int64(len(want)) {
			t.Errorf("%s counts %d customers (%v), want %d", domain, n, err, len(want))
		}
	}
	var blobs int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE typeof(mac_address) = 'blob'`).Scan(&blobs); err != nil || blobs != 4 {
		t.Errorf("%d MAC addresses kept as bytes (%v), want the 4 written as ParseMAC writes them", blobs, err)
	}
	for id := range labelOf {
		ds, err := s.DevicesByCustomer(ctx, id)
		if err != nil || len(ds) != 1 {
			t.Fatalf("customer %s has devices %+v (%v), want one", id, ds, err)
		}
		c, err := s.CustomerByID(ctx, id)
		if err != nil || ds[0].DomainID != c.DomainID || !strings.HasPrefix(c.Email, strings.ToLower(c.LastName)+"@"+c.DomainID) {
			t.Errorf("customer %+v (%v) has device %+v", c, err, ds[0])
		}
		if ds[0].MACAddress != macOf[id] {
			t.Errorf("customer %s's device has MAC address %q, want %q as before", id, ds[0].MACAddress, macOf[id])
		}
		if canonicalMAC(macOf[id]) {
			page, err := search(ctx, c.DomainID, customers.SearchRequest{Text: macOf[id], First: 5})
			if err != nil || len(page.Hits) != 1 || page.Hits[0].Customer.ID != id {
				t.Errorf("a search of %s finds %+v (%v), want customer %s", macOf[id], page.Hits, err, id)
			}
		}
	}
}

// Open upgrades a store's schema only with the data directory to itself: a
// store at an older version whose directory another process holds (a server
// of the release before) is refused, unchanged, and opens upgraded once the
// holder is gone, or at once for a caller that says it holds the lock
// (LockHeld). (A tryout's export from the new binary upgraded a store under
// a running older server, whose reads of the changed tables then failed.)
func TestUpgradeNeedsTheDataDirectoryToItself(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 21)
	if _, err := db.ExecContext(ctx, `INSERT INTO domains (id, slug, name, default_region, created_at) VALUES ('d1', 'd', 'Domain', 'US', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	version := func() int {
		t.Helper()
		db, err := openReadOnly(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v int
		if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	unlock, err := LockDir(dir) // the older server
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir); !errors.Is(err, ErrDirInUse) || !strings.Contains(err.Error(), "schema version 21") {
		t.Fatalf("Open of an older store held by another: %v, want a refusal naming its version", err)
	}
	if v := version(); v != 21 {
		t.Fatalf("the refused Open left the store at version %d, want 21", v)
	}
	s, err := Open(ctx, dir, LockHeld()) // the lock's holder itself
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close(ctx)
	unlock()
	if v := version(); v != len(migrations) {
		t.Fatalf("after Open with LockHeld the store is at version %d, want %d", v, len(migrations))
	}

	dir = t.TempDir() // and with no holder, Open takes the lock for the upgrade itself
	if err := databaseAtVersion(t, dir, 21).Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(ctx)
	if unlock, err := LockDir(dir); err != nil {
		t.Fatalf("the upgrade kept the data directory's lock: %v", err)
	} else {
		unlock()
	}
}

// Migration 24 keeps an email's digest beside it, unique in its domain, and
// statuses and modes as numbers: a store at version 23 (customers of both
// statuses and one of a status the service does not know, devices of several
// modes and one of a legacy mode) opens with every value read back as it was
// written, every customer found by email, a taken email refused on create and
// on update, the disabled customers listed and counted from their partial
// index, and an email that is not the customer's not found under a digest it
// shares (what only a collision would do).
func TestMigrationKeepsEmailDigestsAndNumbersForStatusesAndModes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := databaseAtVersion(t, dir, 23)
	exec := execOrFail(t, db)
	exec(`INSERT INTO domains (id, slug, name, default_region, created_at, number) VALUES ('dom', 'd', 'Domain', 'US', 0, 1)`)
	statusOf := map[string]string{} // email -> status
	modeOf := map[string]string{}   // email -> its device's mode
	for i, row := range []struct{ last, status, mode string }{
		{"Adams", "ACTIVE", "AUTO"}, {"Baker", "DISABLED", "ECO"}, {"Clark", "ACTIVE", "HEAT"}, {"Davis", "DISABLED", "legacy mode"}, {"Evans", "SUSPENDED", "OFF"},
	} {
		email := strings.ToLower(row.last) + "@example.com"
		statusOf[email], modeOf[email] = row.status, row.mode
		exec(`INSERT INTO customers (id, domain_number, first_name, last_name, email, phone, status, password_hash,
			version, created_at, updated_at, last_key, first_key, sort_seq) VALUES (unhex(?), 1, 'Ann', ?, ?, '', ?, 'x', 1, 0, 0, ?, 'ann', ?)`,
			newids.New(), row.last, email, row.status, strings.ToLower(row.last), int64(i)*labelStep)
		exec(`INSERT INTO devices (id, domain_number, customer_rid, name, model, serial_number, mac_address, online, target_temperature, mode,
			notifications, created_at, updated_at) VALUES (unhex(?), 1, (SELECT rid FROM customers WHERE email = ?), 'Hall', 'T-100', ?, '', 1, 20, ?, 1, 0, 0)`,
			newids.New(), email, "SN-"+row.last, row.mode)
	}
	s := openMigrated(t, db, dir)

	var texts int
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM customers WHERE typeof(status) = 'text') +
		(SELECT COUNT(*) FROM devices WHERE typeof(mode) = 'text')`).Scan(&texts); err != nil || texts != 2 {
		t.Errorf("%d statuses and modes kept as text (%v), want the 2 the service does not know", texts, err)
	}
	ids := map[string]string{} // email -> customer id
	for email, status := range statusOf {
		c, err := s.CustomerByEmail(ctx, "dom", email)
		if err != nil || c.Email != email || string(c.Status) != status {
			t.Fatalf("customer by email %s: %+v (%v), want status %s", email, c, err, status)
		}
		ids[email] = c.ID
		var digest int64
		if err := s.read.QueryRowContext(ctx, `SELECT email_digest FROM customers WHERE id = ?`, idKey(c.ID)).Scan(&digest); err != nil || digest != emailDigest(email) {
			t.Errorf("%s's digest is %d (%v), want %d", email, digest, err, emailDigest(email))
		}
		ds, err := s.DevicesByCustomer(ctx, c.ID)
		if err != nil || len(ds) != 1 || string(ds[0].Settings.Mode) != modeOf[email] {
			t.Errorf("%s's devices: %+v (%v), want one of mode %s", email, ds, err, modeOf[email])
		}
	}

	d := domains.Domain{ID: "dom", DefaultRegion: "US"}
	taken := storetest.NewCustomer(d, "Ann", "Again", "adams@example.com", "")
	if err := s.CreateCustomer(ctx, taken, audit.Record{}); err == nil {
		t.Error("a customer created with a taken email, want it refused")
	}
	newEmail := "baker@example.com"
	adams, _ := s.CustomerByID(ctx, ids["adams@example.com"])
	if _, err := s.UpdateCustomer(ctx, customers.Update{ID: adams.ID, Version: adams.Version, Email: &newEmail, At: time.Now()}); !errors.Is(err, customers.ErrEmailTaken) {
		t.Errorf("an email changed to a taken one: %v, want ErrEmailTaken", err)
	}
	moved := "adams.new@example.com"
	if _, err := s.UpdateCustomer(ctx, customers.Update{ID: adams.ID, Version: adams.Version, Email: &moved, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.CustomerByEmail(ctx, "dom", moved); err != nil || c.ID != adams.ID {
		t.Errorf("customer by the changed email: %+v (%v), want %s", c, err, adams.ID)
	}
	if _, err := s.CustomerByEmail(ctx, "dom", "adams@example.com"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("customer by the email before the change: %v, want not found", err)
	}
	if err := s.CreateCustomer(ctx, storetest.NewCustomer(d, "Ann", "Again", "adams@example.com", ""), audit.Record{}); err != nil {
		t.Errorf("a customer created with the email another gave up: %v", err)
	}

	for status, want := range map[customers.Status][]string{customers.StatusDisabled: {"Baker", "Davis"}, customers.StatusActive: {"Adams", "Again", "Clark"}} {
		q := customers.SearchQuery{DomainID: "dom", Status: status, Limit: 10}
		hits, err := s.SearchCustomers(ctx, q)
		var got []string
		for _, h := range hits {
			got = append(got, h.Customer.LastName)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("customers of status %s: %v (%v), want %v", status, got, err, want)
		}
		if n, err := s.CountCustomerMatches(ctx, q); err != nil || n != int64(len(want)) {
			t.Errorf("%s customers counted %d (%v), want %d", status, n, err, len(want))
		}
	}
	query, args := listCustomersSQL(customers.SearchQuery{DomainID: "dom", Status: customers.StatusDisabled, Limit: 10})
	if plan := queryPlan(t, s, query, args...); !strings.Contains(plan, "customers_domain_status_name") {
		t.Errorf("disabled customers listed by %q, want their partial index", plan)
	}

	if _, err := s.write.ExecContext(ctx, `UPDATE customers SET email_digest = ? WHERE id = ?`, emailDigest("someone@example.com"), idKey(ids["clark@example.com"])); err != nil {
		t.Fatal(err)
	}
	if found, err := s.CustomersByImportKeys(ctx, "dom", nil, []string{"someone@example.com"}); err != nil || len(found) != 0 {
		t.Errorf("an import's lookup of an email no customer has found %+v (%v) under its digest, want none", found, err)
	}
}
