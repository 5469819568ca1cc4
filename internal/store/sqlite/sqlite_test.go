package sqlite_test

import (
	"context"
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
