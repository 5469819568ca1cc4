// Package sqlite is the embedded store: one SQLite file in WAL mode, opened
// through modernc.org/sqlite (pure Go). Writes go through a single connection,
// so they never wait on each other's locks; reads use a pool. A bulk load
// that holds the data directory's lock writes with a rollback journal
// instead (DirLocked).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/iotconsole/bff/internal/apperr"
)

// FileName is the database file's name inside the data directory.
const FileName = "bff.sqlite"

// dirLockedCheckpointPages is the write-ahead log's size, in pages of
// 4 KiB, at which the writer of a DirLocked store checkpoints it: 1 GiB,
// about eight batches of an import into a store of a million (see Open).
const dirLockedCheckpointPages = 262144

// Store implements store.Store on SQLite.
type Store struct {
	path  string  // the database file, dir/FileName
	write *sql.DB // one connection: SQLite allows one writer at a time
	read  *sql.DB

	readStmts sync.Map // query text -> *sql.Stmt on read, for the queries of every request

	dirLocked bool // opened with DirLocked: Close puts the file back in WAL mode
	lockHeld  bool // the caller holds the data directory's lock: LockHeld or DirLocked

	beforeMigrations func(from, to int) // see BeforeMigrations
}

// Option changes how Open opens a store.
type Option func(*Store)

// DirLocked tells Open that the caller holds the data directory's lock
// (LockDir) for a bulk load, so that no other process writes or serves the
// store meanwhile. A store that holds no customers then writes with a
// rollback journal (journal_mode DELETE) instead of the write-ahead log (one
// that holds some keeps it, see leaveWALIfEmpty): the pages a
// transaction adds to the file are written once, not to the log and then
// again to the database, which took a 200,000-customer import into an
// empty store from 1,408 to 853 MiB written (docs/BENCHMARKS.md, "Bulk
// import"). Reads wait for a transaction that is being committed (with a
// rollback journal a commit excludes readers), up to readerWaitDirLocked.
// Close puts the file back in WAL mode; a store left in rollback mode by a
// process that was killed is put back by the next Open without DirLocked.
// A transaction interrupted either way is rolled back from its journal
// when the file is next opened, as it would have been from the log.
//
// Another process that has the file open when the store opens (an export)
// keeps it in WAL mode (leaveWALIfEmpty); one that opens it meanwhile without
// DirLocked puts it back in WAL mode, and the store follows: either way it
// then writes as it would without DirLocked. A backup refuses a file in
// rollback mode (backupFile): a long read would hold the import's commits
// back.
func DirLocked() Option { return func(s *Store) { s.dirLocked, s.lockHeld = true, true } }

// LockHeld tells Open that the caller holds the data directory's lock
// (LockDir), as a server does while it serves, so that Open may upgrade the
// file's schema. Without it Open takes the lock itself for an upgrade, and
// refuses one while another process holds it (see migrateTo).
func LockHeld() Option { return func(s *Store) { s.lockHeld = true } }

// BeforeMigrations has Open call f with the schema version of the file and
// the one it is about to bring it to, before it applies any migration to a
// file that has a schema (not for a new file, nor for one at the newest
// version). Some migrations rebuild the search index, about a minute a
// million customers on a small machine, so a caller can say why opening
// takes that long.
func BeforeMigrations(f func(from, to int)) Option {
	return func(s *Store) { s.beforeMigrations = f }
}

// readerWaitDirLocked is how long a read waits for the writer's lock while
// the store is DirLocked: a commit of an import's batch (20,000 customers)
// or a write that spills its page cache to the file holds readers back
// until the batch commits, a few seconds; nothing else waits on them.
const readerWaitDirLocked = 5 * time.Minute

// Open opens (creating if needed) the database in dir and migrates it to the
// newest schema. It returns an error if dir cannot be created or written.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	s := &Store{path: filepath.Join(dir, FileName)}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := s.path
	// A new database file is readable by its owner only, as backups are: it
	// holds password hashes and personal data. SQLite gives its journal, log
	// and shared-memory files the database file's permissions.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	dsn := func(mode string) string {
		q := url.Values{}
		// Reads go through a 32 MiB page cache per connection and, past it,
		// the operating system's file cache: no memory map (mmap_size 0).
		// With a memory map of the file, every page a search touched
		// counted in the server's RSS (3.2 to 3.9 GiB at a million
		// customers) and searches were slower, not faster, on this machine:
		// docs/BENCHMARKS.md, "Memory". secure_delete overwrites with zeros
		// whatever a write frees, so that an erased customer leaves nothing
		// in the file (see erase.go). auto_vacuum takes effect in a new
		// file only (before its first table), and is the writer's to set:
		// compactLabels then gives the pages it freed back to the file
		// system.
		if mode == "rwc" {
			q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
		}
		// The journal mode is the writer's to set (a read-only connection
		// cannot, and with a rollback journal has nothing to set); a file
		// in WAL mode stays so for every connection. DirLocked leaves WAL
		// mode once the writer is open (leaveWALIfEmpty).
		//
		// The writer of a DirLocked store (an import that has the store to
		// itself) checkpoints the log when it holds dirLockedCheckpointPages,
		// not SQLite's 1,000 pages: every batch of an import into a store of
		// a million dirties pages all over its indexes, and each batch's
		// checkpoint wrote them to the database again (100,000 more: 2.9 GB
		// written, 1.3 GB with one checkpoint at the end; docs/BENCHMARKS.md,
		// "Bulk import"). No reader waits on the log meanwhile.
		//
		// The writer sorts with helper threads, one a core (SQLite's
		// 'threads'; its own limit is 8): building the indexes a bulk load
		// into an empty store deferred (compactLabels) took 5.6 s instead
		// of 6.8 on two cores (docs/BENCHMARKS.md, "Bulk import").
		// Temporary files stay in memory (temp_store, every connection: a
		// read's sorts are of a page of rows): a statement that
		// writes many rows (rowInsert) keeps a journal of the pages it
		// changes, to undo itself alone, and SQLite wrote that journal to a
		// file past 64 KiB: 4.6 s of system calls in the writes of a
		// million customers, 0.8 s in memory.
		journal, wait, checkpoint, threads := "journal_mode(WAL)", "busy_timeout(10000)", "", ""
		if mode == "rwc" {
			threads = fmt.Sprintf("threads(%d)", runtime.GOMAXPROCS(0))
		}
		switch {
		case s.dirLocked && mode == "rwc":
			journal, checkpoint = "", fmt.Sprintf("wal_autocheckpoint(%d)", dirLockedCheckpointPages)
		case s.dirLocked:
			journal, wait = "", fmt.Sprintf("busy_timeout(%d)", readerWaitDirLocked.Milliseconds())
		}
		for _, p := range []string{journal, wait, checkpoint, threads, "foreign_keys(ON)", "synchronous(NORMAL)",
			"mmap_size(0)", "cache_size(-32768)", "secure_delete(ON)", "temp_store(MEMORY)"} {
			if p != "" {
				q.Add("_pragma", p)
			}
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
	s.write = write
	if s.dirLocked {
		if err := s.leaveWALIfEmpty(ctx); err != nil {
			_ = write.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.releaseSearchMerges(ctx); err != nil { // held by a bulk load that was interrupted
		_ = write.Close()
		return nil, fmt.Errorf("open %s: %w", path, mapErr(err))
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

// leaveWALIfEmpty puts the file of a DirLocked store that holds no
// customers in rollback-journal mode if no other connection has it open:
// leaving WAL mode needs the only one, and SQLite refuses at once
// (SQLITE_BUSY, no waiting) while another process (a backup, an export) has
// the file open. The store then stays in WAL mode and writes as it would
// without DirLocked. A store that holds customers stays in WAL mode too: an
// import into it updates customers a few small transactions each, which a
// rollback journal commits with file syncs of their own (20,000 customers
// given two devices each: 59 s and 14.2 GB written, against 27 s and 2.7 GB
// in WAL mode), and adds customers no faster (100,000 into a million: 31.0
// and 31.1 s, against 29.7 and 30.1 s; docs/BENCHMARKS.md, "Bulk import").
func (s *Store) leaveWALIfEmpty(ctx context.Context) error {
	var tables, customers int // a new file has no tables yet
	err := s.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'customers'`).Scan(&tables)
	if err == nil && tables > 0 {
		err = s.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM customers)`).Scan(&customers)
	}
	if err != nil || customers > 0 {
		return err
	}
	var mode string
	err = s.write.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode)
	if errors.Is(mapErr(err), apperr.ErrUnavailable) {
		return nil
	}
	return err
}

// Ping returns an error if the database cannot be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return mapErr(s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// Close closes both connection pools; a store opened DirLocked is put back
// in WAL mode first, once its readers are closed (leaving WAL mode, or
// entering it, needs the only connection to the file).
func (s *Store) Close(ctx context.Context) error {
	s.readStmts.Range(func(_, stmt any) bool {
		_ = stmt.(*sql.Stmt).Close()
		return true
	})
	errRead := s.read.Close()
	var errWAL error
	if s.dirLocked {
		_, errWAL = s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA journal_mode = WAL`)
	}
	return errors.Join(errRead, errWAL, s.write.Close())
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

// maxInIDs bounds the ids of one "IN (...)" list: a longer list is read in
// several queries, each well under SQLite's limit of bound parameters.
const maxInIDs = 500

// byIDs runs query+" IN (?, ...)"+suffix on the read pool for the distinct
// non-empty ids, maxInIDs at a time, and returns every row scan reads. An
// empty list reads nothing. It returns the errors of the query through
// mapErr and those of scan as they are.
func byIDs[T any](ctx context.Context, s *Store, query, suffix string, ids []string, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	return byIDsAfter(ctx, s, query, suffix, nil, ids, scan)
}

// byStoredIDs is byIDs for ids of the customers or devices tables, bound
// as those tables keep them (idKey).
func byStoredIDs[T any](ctx context.Context, s *Store, query string, ids []string, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	return byKeys(ctx, s, query, ``, nil, ids, idKey, scan)
}

// byIDsAfter is byIDs for a query with placeholders of its own before the
// list, filled with lead.
func byIDsAfter[T any](ctx context.Context, s *Store, query, suffix string, lead []any, ids []string, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	return byKeys(ctx, s, query, suffix, lead, ids, asText, scan)
}

// asText binds an id as its text.
func asText(id string) any { return id }

// byKeys is byIDsAfter with each id bound as key returns it.
func byKeys[T any](ctx context.Context, s *Store, query, suffix string, lead []any, ids []string, key func(string) any, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	var out []T
	err := inChunks(ids, key, func(in string, args []any) error {
		rows, err := s.read.QueryContext(ctx, query+" IN "+in+suffix, append(append([]any(nil), lead...), args...)...)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return mapErr(rows.Err())
	})
	return out, err
}

// inChunks calls each with a list of placeholders, "(?, ?)", and its
// arguments (each id as key returns it) for every maxInIDs of the distinct
// non-empty ids (the empty id
// is no object's), and stops at the first error.
func inChunks(ids []string, key func(string) any, each func(in string, args []any) error) error {
	seen := make(map[string]bool, len(ids))
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		err := each("("+strings.Repeat("?, ", len(args)-1)+"?)", args)
		args = nil
		return err
	}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if args = append(args, key(id)); len(args) == maxInIDs {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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

// errStale is what a conditional write (on a version, a state, an unused
// ticket) that changed no row hands to mapErr when its row may exist: the
// row no longer meets the condition. A write that changed no row because
// there is none hands sql.ErrNoRows, as a read of a missing row does.
var errStale = errors.New("the row no longer meets the write's condition")

// mapErr is the one place this store decides what a driver's error means to
// its callers; every method passes its errors through it. A missing row is
// apperr.ErrNotFound; a unique or primary key violation and a stale
// conditional write are apperr.ErrConflict; a database another process has
// kept locked for longer than the busy timeout (a second server on the same
// data directory, a maintenance session) is apperr.ErrUnavailable, the
// embedded store's one outage; anything else, a closed database included,
// is returned as it is.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.ErrNotFound
	}
	if errors.Is(err, errStale) {
		return fmt.Errorf("%w: %v", apperr.ErrConflict, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", apperr.ErrConflict, err)
		case code&0xff == sqlite3.SQLITE_BUSY: // and its extended codes
			return fmt.Errorf("%w: %v", apperr.ErrUnavailable, err)
		}
	}
	return err
}

// missed returns what a conditional write on row id of table that changed
// nothing hands to mapErr: errStale if the row exists, sql.ErrNoRows if not.
func missed(ctx context.Context, tx *sql.Tx, table string, id any) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return errStale
	}
	return sql.ErrNoRows
}

// noneChanged returns ifNone (errStale or sql.ErrNoRows, for mapErr) when
// the write whose result is res changed no row, the driver's error when it
// cannot tell, and nil when it changed some.
func noneChanged(res sql.Result, ifNone error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ifNone
	}
	return nil
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

// optimizeAfter is how many customers a bulk load writes before
// OptimizeAfterBulkLoad tidies the search index: below it the work costs
// more than it saves.
const optimizeAfter = 10_000

// OptimizeAfterBulkLoad implements what customers.OptimizeAfterBulkLoad
// asks of a store, after a bulk load that created written customers. It lets
// FTS5 merge again if the load held its merges (releaseSearchMerges), then:
//   - while the load deferred the search index (DeferSearchIndex), it
//     compacts the labels and builds the index (compactLabels), whatever
//     the load wrote;
//   - else below optimizeAfter customers written it does nothing;
//   - when the order labels are sparse (the load went into a store that had
//     few customers), it compacts them and builds the search index again
//     under them (compactLabels), which halves the index;
//   - else, when the load wrote at least a quarter of the store's customers,
//     it merges the search index into one segment and drops the entries of
//     deleted rows (FTS5 'optimize': searches after a bulk load into an
//     empty store were 1.6 times faster);
//   - else it leaves the index to FTS5's own incremental merging: a full
//     merge of a million customers' index to add 100,000 cost more than the
//     load itself.
//
// At a million customers compacting takes about 3 minutes and merging about
// 30 s, in one write transaction: searches go on meanwhile, writes wait.
func (s *Store) OptimizeAfterBulkLoad(ctx context.Context, written int) error {
	if err := s.releaseSearchMerges(ctx); err != nil {
		return fmt.Errorf("optimize search index: %w", mapErr(err))
	}
	deferred, err := searchIndexDeferred(ctx, s.write)
	switch {
	case err != nil:
		return fmt.Errorf("optimize search index: %w", mapErr(err))
	case deferred:
		return s.compactLabels(ctx)
	case written < optimizeAfter:
		return nil
	}
	var n int64
	if err := s.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers`).Scan(&n); err != nil {
		return fmt.Errorf("optimize search index: %w", mapErr(err))
	}
	sparse, err := labelsSparse(ctx, s.write, n)
	switch {
	case err != nil:
		return fmt.Errorf("optimize search index: %w", mapErr(err))
	case sparse:
		return s.compactLabels(ctx)
	case int64(written)*4 >= n:
		if _, err := s.write.ExecContext(ctx, `INSERT INTO customer_search (customer_search) VALUES ('optimize')`); err != nil {
			return fmt.Errorf("optimize search index: %w", mapErr(err))
		}
	}
	return nil
}

// compactLabels runs compactLabelsSQL, fills the search index with every
// customer's row (fillSearchIndex) and merges it (finishSearchIndexSQL), in
// one transaction, after which the
// index holds every customer, the key and name-order indexes exist (bulk
// loads defer them no more: see DeferSearchIndex) and every domain's search
// version has moved, then gives the pages it freed back to the file system
// (a no-op in a file created before auto_vacuum was set: see Open).
func (s *Store) compactLabels(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := createIndexes(ctx, tx, slices.Concat(keyIndexes, nameIndexes)); err != nil { // dropped while a bulk load deferred them
			return err
		}
		if _, err := tx.ExecContext(ctx, compactLabelsSQL); err != nil {
			return err
		}
		bulk := newBulkTx(tx) // the same two statements a million times
		defer bulk.close()
		if err := fillWholeSearchIndex(ctx, bulk); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, finishSearchIndexSQL); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM store_meta WHERE key = ?`, searchIndexDeferredKey); err != nil {
			return err
		}
		// The index may now hold customers a deferred load left out.
		_, err := tx.ExecContext(ctx, `UPDATE search_versions SET version = version + 1`)
		return err
	})
	if err == nil {
		_, err = s.write.ExecContext(ctx, `PRAGMA incremental_vacuum`)
	}
	if err != nil {
		return fmt.Errorf("compact search order: %w", mapErr(err))
	}
	return nil
}
