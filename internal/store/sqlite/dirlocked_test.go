package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotconsole/bff/internal/customers"
	"github.com/iotconsole/bff/internal/domains"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

// mustOpen opens the store in dir with opts, or ends the test.
func mustOpen(t *testing.T, dir string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	return s
}

// rollbackMode reports whether the store in dir is in a rollback-journal
// mode (sqlite.InRollbackMode), not WAL mode.
func rollbackMode(t *testing.T, dir string) bool {
	t.Helper()
	rollback, err := sqlite.InRollbackMode(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return rollback
}

// A store opened DirLocked (a bulk load holding the data directory's lock)
// writes with a rollback journal, reads as usual, and is back in WAL mode,
// with no journal left beside it, once closed.
func TestDirLockedStoreWritesWithARollbackJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, sqlite.DirLocked())
	d := storetest.NewDomain(t, s)
	preload(t, s, d, 3000)
	if !rollbackMode(t, dir) {
		t.Error("journal mode while open DirLocked: WAL, want a rollback journal")
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
	if rollbackMode(t, dir) {
		t.Error("journal mode after Close: a rollback journal, want WAL")
	}
	for _, suffix := range []string{"-journal", "-wal"} {
		if _, err := os.Stat(filepath.Join(dir, sqlite.FileName+suffix)); !os.IsNotExist(err) {
			t.Errorf("%s left after Close: %v", suffix, err)
		}
	}
	s = mustOpen(t, dir)
	defer s.Close(ctx)
	if n, err := s.CountCustomers(ctx, d.ID); err != nil || n != 3000 {
		t.Errorf("CountCustomers after reopening: %d, %v; want 3000", n, err)
	}
}

// openDirLockedWithCustomers makes a store in dir holding a domain of 10
// customers, closes it and opens it again DirLocked (as an import into it
// does).
func openDirLockedWithCustomers(t *testing.T, dir string) (*sqlite.Store, domains.Domain) {
	t.Helper()
	s := mustOpen(t, dir)
	d := storetest.NewDomain(t, s)
	preload(t, s, d, 10)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return mustOpen(t, dir, sqlite.DirLocked()), d
}

// A store that already holds customers, opened DirLocked (an import into
// it), keeps its write-ahead log: the import's updates commit without a
// rollback journal's syncs.
func TestDirLockedStoreWithCustomersKeepsItsLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	locked, d := openDirLockedWithCustomers(t, dir)
	defer locked.Close(ctx)
	if rollbackMode(t, dir) {
		t.Error("journal mode of a store with customers opened DirLocked: a rollback journal, want WAL")
	}
	c := storetest.NewCustomer(d, "Later", "Import", "later@example.com", "")
	if err := locked.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := locked.CountCustomers(ctx, d.ID); err != nil || n != 11 {
		t.Errorf("CountCustomers: %d, %v; want 11", n, err)
	}
}

// An import into a store with customers that it has to itself leaves the
// write-ahead log to grow past SQLite's 1,000 pages across its batches
// (checkpointing each batch wrote every page it touched again: 2.9 GB for
// 100,000 customers into a million, 1.3 GB without), and the log is copied
// into the database when the store closes.
func TestDirLockedImportCheckpointsItsLogOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	locked, d := openDirLockedWithCustomers(t, dir)
	wal := filepath.Join(dir, sqlite.FileName+"-wal")
	logSize := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	batch := func(from int) {
		var cs []customers.Customer
		for i := from; i < from+8000; i++ {
			cs = append(cs, storetest.NewCustomer(d, fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i%997), fmt.Sprintf("batch%d@example.com", i), ""))
		}
		if err := locked.ImportCustomers(ctx, cs, nil); err != nil {
			t.Fatal(err)
		}
	}
	batch(0)
	one := logSize()
	if one < 1000*4096 {
		t.Fatalf("one batch wrote a log of %d bytes: too few pages to tell (SQLite checkpoints at 1,000)", one)
	}
	batch(8000)
	if two := logSize(); two < one*3/2 {
		t.Errorf("the log after two batches: %d bytes, after one %d: checkpointed between them", two, one)
	}
	if err := locked.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(wal); err == nil && fi.Size() > 0 {
		t.Errorf("a log of %d bytes left after the store closed", fi.Size())
	}
	reopened := mustOpen(t, dir)
	defer reopened.Close(ctx)
	if n, err := reopened.CountCustomers(ctx, d.ID); err != nil || n != 16010 {
		t.Errorf("CountCustomers after reopening: %d, %v; want 16010", n, err)
	}
}

// A store opened without DirLocked while a DirLocked one is open (an export
// during an import) puts the file back in WAL mode, and both go on reading
// and writing it: the DirLocked store follows the file into WAL mode.
func TestOpeningBesideADirLockedStorePutsItInWALMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	locked := mustOpen(t, dir, sqlite.DirLocked())
	defer locked.Close(ctx)
	d := storetest.NewDomain(t, locked)
	preload(t, locked, d, 100)
	other := mustOpen(t, dir)
	defer other.Close(ctx)
	if rollbackMode(t, dir) {
		t.Error("journal mode once opened without DirLocked: a rollback journal, want WAL")
	}
	later := storetest.NewCustomer(d, "Later", "Writer", "later@example.com", "+1 555 0100")
	if err := locked.ImportCustomers(ctx, []customers.Customer{later}, nil); err != nil {
		t.Fatalf("a write of the DirLocked store in WAL mode: %v", err)
	}
	if n, err := other.CountCustomers(ctx, d.ID); err != nil || n != 101 {
		t.Errorf("customers seen by the other store: %d, %v; want 101", n, err)
	}
}

// A store opened DirLocked while another connection has the file open (an
// export, a backup) stays in WAL mode, which SQLite refuses to leave then,
// and works as usual.
func TestDirLockedStoreStaysInWALBesideAnotherConnection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	d := storetest.NewDomain(t, s)
	preload(t, s, d, 10)
	_ = s.Close(ctx)
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var n int
	if err := other.QueryRow(`SELECT COUNT(*) FROM customers`).Scan(&n); err != nil || n != 10 {
		t.Fatalf("the other connection: %d, %v", n, err)
	}
	locked := mustOpen(t, dir, sqlite.DirLocked())
	defer locked.Close(ctx)
	if rollbackMode(t, dir) {
		t.Error("journal mode beside another connection: a rollback journal, want WAL")
	}
	c := storetest.NewCustomer(d, "Beside", "Reader", "beside@example.com", "+1 555 0101")
	if err := locked.ImportCustomers(ctx, []customers.Customer{c}, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow(`SELECT COUNT(*) FROM customers`).Scan(&n); err != nil || n != 11 {
		t.Errorf("the other connection after the write: %d, %v; want 11", n, err)
	}
}

// A backup refuses a store in rollback-journal mode (an import has it to
// itself, or one was killed): its read would hold the import's commits
// back, and it could not roll back a killed import's journal. It writes no
// file, and backs the store up once the import has ended.
func TestBackupRefusesAStoreAnImportHasToItself(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, sqlite.DirLocked())
	d := storetest.NewDomain(t, s)
	preload(t, s, d, 10)
	dst := filepath.Join(t.TempDir(), "backup.sqlite")
	if err := sqlite.BackupDir(ctx, dir, dst); !errors.Is(err, sqlite.ErrImportHoldsStore) {
		t.Errorf("backup during a locked import: %v, want %v", err, sqlite.ErrImportHoldsStore)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("the refused backup left a file: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.BackupDir(ctx, dir, dst); err != nil {
		t.Errorf("backup once the import has ended: %v", err)
	}
}
