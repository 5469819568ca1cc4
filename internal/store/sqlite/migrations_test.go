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

	"github.com/iotconsole/bff/internal/apperr"
	"github.com/iotconsole/bff/internal/devices"
	newids "github.com/iotconsole/bff/internal/ids"
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
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
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
