// Package sqlite is the embedded store: one SQLite file in WAL mode, opened
// through modernc.org/sqlite (pure Go). Writes go through a single connection,
// so they never wait on each other's locks; reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/iotconsole/bff/internal/apperr"
)

// FileName is the database file's name inside the data directory.
const FileName = "bff.sqlite"

// Store implements store.Store on SQLite.
type Store struct {
	write *sql.DB // one connection: SQLite allows one writer at a time
	read  *sql.DB

	readStmts sync.Map // query text -> *sql.Stmt on read, for the queries of every request
}

// Open opens (creating if needed) the database in dir and migrates it to the
// newest schema. It returns an error if dir cannot be created or written.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := func(mode string) string {
		q := url.Values{}
		// Reads go through a memory map of up to 8 GiB of the file (no read
		// system call per page) and a 32 MiB page cache per connection.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(ON)", "synchronous(NORMAL)",
			"mmap_size(8589934592)", "cache_size(-32768)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		q.Set("mode", mode)
		return "file:" + path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn("rwc"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write}
	if err := s.migrate(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("ro"))
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	s.read = read
	return s, nil
}

// Ping returns an error if the database cannot be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes both connection pools.
func (s *Store) Close(context.Context) error {
	s.readStmts.Range(func(_, stmt any) bool {
		_ = stmt.(*sql.Stmt).Close()
		return true
	})
	return errors.Join(s.read.Close(), s.write.Close())
}

// readStmt returns query prepared on the read pool, preparing it once: the
// queries every request runs (sessions, accounts, search) skip SQLite's
// parser and planner after their first use.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if stmt, ok := s.readStmts.Load(query); ok {
		return stmt.(*sql.Stmt), nil
	}
	stmt, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, stmt); loaded {
		_ = stmt.Close()
		return prev.(*sql.Stmt), nil
	}
	return stmt, nil
}

// queryRow runs a one-row query through readStmt and scans it into dest.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	stmt, err := s.readStmt(ctx, query)
	if err != nil {
		return err
	}
	return stmt.QueryRowContext(ctx, args...).Scan(dest...)
}

// inTx runs fn in one write transaction, committed if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// mapErr turns driver errors into apperr sentinels.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", apperr.ErrConflict, err)
		}
	}
	return err
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Optimize merges the search index into one segment and drops the entries of
// deleted rows, which makes searches after a bulk load several times faster.
// It takes about 15 s per million customers; searches go on meanwhile.
func (s *Store) Optimize(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO customer_search (customer_search) VALUES ('optimize')`); err != nil {
		return fmt.Errorf("optimize search index: %w", err)
	}
	return nil
}
