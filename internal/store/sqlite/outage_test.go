package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/iotconsole/bff/internal/store/storetest"
)

// The embedded store's one outage is a database another process keeps
// locked (a second server on the same data directory, a maintenance
// session): writes wait for the busy timeout, then answer
// apperr.ErrUnavailable, and work again once the lock is released. Reads
// go on meanwhile (WAL readers never wait for a writer). A closed database
// is not an outage but a process stopping, and is not tested.
func TestLockedDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(ctx) })
	// The 10 s busy timeout, shortened on the one write connection: the
	// writes during the lock wait for it one after the other.
	if _, err := s.write.ExecContext(ctx, "PRAGMA busy_timeout = 200"); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	holder, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(stmt string) func() {
		return func() {
			if _, err := holder.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	storetest.RunOutage(t, s, storetest.Outage{Begin: exec("BEGIN IMMEDIATE"), End: exec("ROLLBACK")})
}
