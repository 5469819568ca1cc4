package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/iotconsole/bff/internal/store"
	"github.com/iotconsole/bff/internal/store/sqlite"
	"github.com/iotconsole/bff/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, open)
}

// A store opened for a bulk load that holds the directory's lock (a rollback
// journal instead of the write-ahead log) keeps the same contract.
func TestContractDirLocked(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := mustOpen(t, t.TempDir(), sqlite.DirLocked())
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDomain(t, s)
	_ = s.Close(ctx)
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close(ctx)
	if _, err := s.DomainBySlug(ctx, d.Slug); err != nil {
		t.Fatalf("domain lost across reopen: %v", err)
	}
}

// A new store's database file and its write-ahead log are its owner's alone:
// they hold password hashes and personal data.
func TestNewStoreFilesAreTheOwnersOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	storetest.NewDomain(t, s) // a write, so that the log exists
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", name, mode)
		}
	}
	_ = s.Close(ctx)
}
