package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/iotconsole/bff/internal/newfile"
)

// Backup writes a consistent copy of the store's database to the new file
// path while the store goes on serving: see BackupDir, which it is for the
// database this Store opened.
func (s *Store) Backup(ctx context.Context, path string) error {
	return backupFile(ctx, s.path, path)
}

// BackupDir writes a consistent copy of the database of the data directory
// dir (dir/FileName) to the new file path, from any process: a server may be
// serving on dir and writing meanwhile. It neither migrates nor writes the
// database (unlike Open), nor takes the directory's lock (LockDir).
//
// The copy is SQLite's VACUUM INTO, run on a read-only connection of its
// own: one read transaction, so the copy is the database as of one moment,
// every transaction committed before BackupDir was called included and
// none half. Writers go on meanwhile (in WAL mode a reader never stops a
// writer) under SQLite's WAL rules: no checkpoint goes past the copy's
// snapshot while it runs, so the -wal file grows by what is written
// meanwhile until a checkpoint after it; and the one checkpoint that waits
// for readers, the log truncation that ends an erasure (DeleteCustomer),
// waits for the copy to end, for at most the busy timeout (10 s, after
// which the erasure stands and the truncation is left to a later
// checkpoint), holding the write connection, so that writes arriving
// meanwhile wait too (measured: an erasure begun during a 175 ms backup of
// 12,000 customers took 295 ms, an insert behind it 164 ms).
//
// The copy is a compact single file in rollback-journal mode (no -wal of
// its own, no free pages, so nothing a write had freed), 0600. path is
// reserved as an empty file first; the copy is written to a temporary file
// next to it (.NAME.tmp-*), fsynced and renamed onto it, so path holds
// the whole copy or nothing: a crash in the middle leaves it empty, and
// the temporary file.
//
// It refuses, with an error wrapping fs.ErrExist, to overwrite an existing
// path, and returns an error if dir has no database or ctx ends first.
func BackupDir(ctx context.Context, dir, path string) error {
	return backupFile(ctx, filepath.Join(dir, FileName), path)
}

// backupFile copies the database file src to the new file dst with VACUUM INTO.
func backupFile(ctx context.Context, src, dst string) error {
	if info, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	} else if !info.Mode().IsRegular() {
		return fmt.Errorf("no database to back up: %s is not a file", src)
	}
	if rollback, err := InRollbackMode(src); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	} else if rollback {
		return ErrImportHoldsStore
	}
	abs, err := filepath.Abs(dst) // VACUUM INTO takes "file:..." as a URI
	if err != nil {
		return err
	}
	// The copy takes the name only whole (newfile): a backup stopped midway
	// leaves no file a restore would take for one.
	f, err := newfile.Create(abs) // a backup never overwrites a file (newfile.ErrExists says so)
	if err != nil {
		return err
	}
	if err := vacuumInto(ctx, src, f.Name()); err != nil {
		f.Discard()
		return fmt.Errorf("back up %s: %w", src, err)
	}
	return f.Commit()
}

// ErrImportHoldsStore is backupFile's error for a file in rollback-journal
// mode, which an import that holds the data directory's lock uses
// (DirLocked). The copy's read would hold back every commit of the import,
// which waits 10 s for one and then fails, and a journal left by a killed
// import cannot be rolled back by a read-only connection.
var ErrImportHoldsStore = errors.New("an import that has the store to itself is writing it, or one was stopped mid-way: " +
	"back it up once the import has ended (a stopped import's store is put right by the next server start or import)")

// InRollbackMode reports whether the SQLite file at path is in a
// rollback-journal mode, as a DirLocked store's is while it is open (and
// after its process was killed): bytes 18 and 19 of its header are 1 (2 in
// WAL mode; https://sqlite.org/fileformat.html, "File format version
// numbers"). A file too short to have a header is not. It returns the
// error of opening the file.
func InRollbackMode(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	header := make([]byte, 20)
	if _, err := io.ReadFull(f, header); err != nil {
		return false, nil // shorter than a header: a new file, which VACUUM INTO reports on
	}
	return header[18] == 1 && header[19] == 1, nil
}

// vacuumInto writes the database file src into dst (absent or empty) with
// VACUUM INTO, on a read-only connection of its own.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := openReadOnly(src)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return mapErr(err)
	}
	return db.Close()
}

// useWAL puts the database file path, a copy VACUUM INTO wrote in
// rollback-journal mode, in WAL mode, as a server leaves its store: in
// rollback-journal mode it reads as the store of an import that was stopped
// mid-way (InRollbackMode), which a backup refuses until a server has
// opened it.
func useWAL(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		return mapErr(err)
	}
	return db.Close()
}

// openReadOnly opens the database file path on one read-only connection.
// It does not create path; a database in WAL mode gets its -wal and -shm
// files created next to it if they are missing.
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// syncFile flushes the file or directory path to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// CheckIntegrity runs PRAGMA integrity_check on the database file path,
// read-only, and returns nil if SQLite answers "ok", otherwise an error
// with the first problems SQLite found (at most 10). It reads the whole
// file: about as long as a backup of it takes.
func CheckIntegrity(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(10)`)
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check of %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s failed: %s", path, strings.Join(problems, "; "))
	}
	return nil
}

// ErrNotRestorable is the error, wrapped, of CheckRestorable and Restore
// when a file is no database this binary can serve.
var ErrNotRestorable = errors.New("not a database this binary can serve")

// sqliteHeader is how every SQLite 3 database file begins.
var sqliteHeader = []byte("SQLite format 3\x00")

// CheckRestorable returns the schema version of the database file path (1
// to the newest this binary knows) if a server could serve it: it is a
// SQLite database, it has this service's schema (a schema_migrations table
// with a version no newer than this binary's, and every table with every
// column the migrations up to that version create: other tools, such as
// golang-migrate and Rails, keep a schema_migrations table too), and it
// passes CheckIntegrity. Otherwise it returns an error wrapping ErrNotRestorable
// that says which, or path's own error (a missing file). It only reads.
func CheckRestorable(ctx context.Context, path string) (version int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w: it is not a file", path, ErrNotRestorable)
	}
	header := make([]byte, len(sqliteHeader))
	if err == nil {
		if _, rerr := io.ReadFull(f, header); rerr != nil || !bytes.Equal(header, sqliteHeader) {
			err = fmt.Errorf("%s: %w: it is not a SQLite database (it does not begin with SQLite's header)", path, ErrNotRestorable)
		}
	}
	_ = f.Close()
	if err != nil {
		return 0, err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return 0, fmt.Errorf("%s: %w: %v", path, ErrNotRestorable, err)
	}
	if tables == 0 {
		return 0, fmt.Errorf("%s: %w: it is a SQLite database, but not this service's (it has no schema_migrations table)", path, ErrNotRestorable)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return 0, fmt.Errorf("%s: %w: read its schema version: %v", path, ErrNotRestorable, err)
	}
	switch {
	case version < 1:
		return 0, fmt.Errorf("%s: %w: its schema_migrations table holds no version this service writes (1 to %d)", path, ErrNotRestorable, len(migrations))
	case version > len(migrations):
		return 0, fmt.Errorf("%s: %w: its schema_migrations table says version %d, newer than this binary's (%d): a database of a later release "+
			"(restore it with that release) or another program's", path, ErrNotRestorable, version, len(migrations))
	}
	if err := checkSchema(ctx, db, version); err != nil {
		return 0, fmt.Errorf("%s: %w: it is a SQLite database with a schema_migrations table at version %d, but not this service's: %v",
			path, ErrNotRestorable, version, err)
	}
	if err := CheckIntegrity(ctx, path); err != nil {
		return 0, fmt.Errorf("%s: %w: %v", path, ErrNotRestorable, err)
	}
	return version, nil
}

// checkSchema returns an error naming the first table or column that the
// migrations up to version create and db lacks, or nil. It applies those
// migrations to a database in memory and compares.
func checkSchema(ctx context.Context, db *sql.DB, version int) error {
	model, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(ON)")
	if err != nil {
		return err
	}
	defer model.Close()
	model.SetMaxOpenConns(1) // one connection, one database in memory
	if err := (&Store{write: model}).migrateTo(ctx, version); err != nil {
		return fmt.Errorf("schema at version %d: %w", version, err)
	}
	want, err := tableColumns(ctx, model)
	if err != nil {
		return err
	}
	have, err := tableColumns(ctx, db)
	if err != nil {
		return err
	}
	for table, columns := range want {
		got, ok := have[table]
		if !ok {
			return fmt.Errorf("it has no %s table", table)
		}
		for c := range columns {
			if !got[c] {
				return fmt.Errorf("its %s table has no %s column", table, c)
			}
		}
	}
	return nil
}

// tableColumns returns the names of db's tables (not SQLite's own) with the
// names of their columns.
func tableColumns(ctx context.Context, db *sql.DB) (map[string]map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT t.name, c.name FROM sqlite_schema t JOIN pragma_table_info(t.name) c
		WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite_%' ORDER BY t.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, err
		}
		if out[table] == nil {
			out[table] = map[string]bool{}
		}
		out[table][column] = true
	}
	return out, rows.Err()
}

// Restore replaces the database of the data directory dir with a copy of
// the database file from, and returns the copy's schema version (a server
// started on dir migrates an older one to the newest at start). The old
// database is gone afterwards: back it up first to keep it.
//
// It first checks from (CheckRestorable; an error wrapping
// ErrNotRestorable refuses it before dir is touched). It then takes dir's
// lock (LockDir, which creates dir if it is missing) for the rest of the
// restore, so it refuses, with an error wrapping ErrDirInUse, while a
// server serves on dir, and no server starts on dir meanwhile; copies from
// into a temporary file in dir with VACUUM INTO (which also takes in a
// -wal file next to from, should from be a live database's file), fsyncs
// the copy, removes dir's old -wal, -shm and -journal files (which belong
// to the old database and would be replayed into the new one), renames the
// copy to dir/FileName and fsyncs dir. A refusal or a failure before the
// removal changes nothing in dir but, past the check of from, create dir
// and its lock file if they were missing.
func Restore(ctx context.Context, dir, from string) (version int, err error) {
	dbPath := filepath.Join(dir, FileName)
	if a, err := os.Stat(from); err == nil {
		if b, err := os.Stat(dbPath); err == nil && os.SameFile(a, b) {
			return 0, fmt.Errorf("%s is the data directory's own database: restore a backup of it", from)
		}
	}
	if version, err = CheckRestorable(ctx, from); err != nil {
		return 0, err
	}
	unlock, err := LockDir(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	tmp, err := os.CreateTemp(dir, "."+FileName+".restore-*")
	if err != nil {
		return 0, err
	}
	_ = tmp.Close()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := vacuumInto(ctx, from, tmp.Name()); err != nil {
		return 0, fmt.Errorf("copy %s: %w", from, err)
	}
	if err := useWAL(ctx, tmp.Name()); err != nil {
		return 0, fmt.Errorf("copy %s: %w", from, err)
	}
	if err := syncFile(tmp.Name()); err != nil {
		return 0, err
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	if err := os.Rename(tmp.Name(), dbPath); err != nil {
		return 0, err
	}
	return version, syncFile(dir)
}
