package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// journalMode reads the database file's header: bytes 18 and 19 are 2 in
// WAL mode and 1 with a rollback journal (https://sqlite.org/fileformat.html,
// "File format version numbers").
func journalMode(t *testing.T, dir string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 2)
	if _, err := f.ReadAt(b, 18); err != nil {
		t.Fatal(err)
	}
	switch {
	case b[0] == 2 && b[1] == 2:
		return "wal"
	case b[0] == 1 && b[1] == 1:
		return "rollback"
	}
	return "unknown"
}

// A store opened DirLocked (a bulk load holding the data directory's lock)
// writes with a rollback journal, reads as usual, and is back in WAL mode,
// with no journal left beside it, once closed.
func TestDirLockedStoreWritesWithARollbackJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.DirLocked())
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	preload(t, s, d, 3000)
	if mode := journalMode(t, dir); mode != "rollback" {
		t.Errorf("journal mode while open DirLocked: %s, want rollback", mode)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName+"-wal")); !os.IsNotExist(err) {
		t.Errorf("a write-ahead log beside a DirLocked store: %v", err)
	}
	if n, err := s.CountCustomers(ctx, d.ID); err != nil || n != 3000 {
		t.Errorf("CountCustomers while DirLocked: %d, %v; want 3000", n, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if mode := journalMode(t, dir); mode != "wal" {
		t.Errorf("journal mode after Close: %s, want wal", mode)
	}
	for _, suffix := range []string{"-journal", "-wal"} {
		if _, err := os.Stat(filepath.Join(dir, sqlite.FileName+suffix)); !os.IsNotExist(err) {
			t.Errorf("%s left after Close: %v", suffix, err)
		}
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n, err := s.CountCustomers(ctx, d.ID); err != nil || n != 3000 {
		t.Errorf("CountCustomers after reopening: %d, %v; want 3000", n, err)
	}
}

// A store opened without DirLocked while a DirLocked one is open (a backup
// during an import) puts the file back in WAL mode, and both go on reading
// and writing it: the DirLocked store follows the file into WAL mode.
func TestOpeningBesideADirLockedStorePutsItInWALMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	locked, err := sqlite.Open(ctx, dir, sqlite.DirLocked())
	if err != nil {
		t.Fatal(err)
	}
	defer locked.Close(ctx)
	d := storetest.NewDomain(t, locked)
	preload(t, locked, d, 100)
	other, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if mode := journalMode(t, dir); mode != "wal" {
		t.Errorf("journal mode once opened without DirLocked: %s, want wal", mode)
	}
	later := storetest.NewCustomer(d, "Later", "Writer", "later@example.com", "+1 555 0100")
	if err := locked.ImportCustomers(ctx, []customers.Customer{later}, nil); err != nil {
		t.Fatalf("a write of the DirLocked store in WAL mode: %v", err)
	}
	if n, err := other.CountCustomers(ctx, d.ID); err != nil || n != 101 {
		t.Errorf("customers seen by the other store: %d, %v; want 101", n, err)
	}
}
