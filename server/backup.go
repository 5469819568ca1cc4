package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/iotconsole/bff/internal/store/sqlite"
)

// runBackup is `server backup [-data-dir DIR] FILE`: it writes a
// consistent copy of the embedded store's database to the new file FILE
// while a server may go on serving and writing on DIR (sqlite.BackupDir),
// checks the copy (sqlite.CheckIntegrity), and prints its size and the
// time each step took. It refuses an existing FILE and the MongoDB store.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flagSet("backup")
	cfg := storeFlags(fs, getenv)
	file, err := parseBackupArgs(fs, args, "server backup [-data-dir DIR] FILE")
	if err != nil {
		return err
	}
	if err := embeddedOnly("backup", cfg); err != nil {
		return err
	}
	if file == "-" {
		return errors.New("backup: name a file: a backup is not written to standard output (it is checked after it is written)")
	}
	if err := refuseDataDirFile("the backup file", file, *cfg); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	started := time.Now()
	if err := sqlite.BackupDir(ctx, cfg.DataDir, file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	took := time.Since(started)
	checked := time.Now()
	if err := sqlite.CheckIntegrity(ctx, file); err != nil {
		return fmt.Errorf("backup: the copy written to %s does not pass the integrity check (the store's own database may not either: run the check on it): %w", file, err)
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %s in %v; integrity check ok in %v\n",
		filepath.Join(cfg.DataDir, sqlite.FileName), file, byteSize(info.Size()),
		took.Round(time.Millisecond), time.Since(checked).Round(time.Millisecond))
	return nil
}

// runRestore is `server restore FILE [-data-dir DIR]` (flags before or
// after FILE): it replaces the embedded store's database in DIR with a copy
// of FILE, a backup (sqlite.Restore). It refuses, changing nothing, while a
// server serves on DIR, and a FILE that is no database of this service.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flagSet("restore")
	cfg := storeFlags(fs, getenv)
	file, err := parseBackupArgs(fs, args, "server restore FILE [-data-dir DIR]")
	if err != nil {
		return err
	}
	if err := embeddedOnly("restore", cfg); err != nil {
		return err
	}
	_, statErr := os.Stat(cfg.DataDir)
	created := errors.Is(statErr, os.ErrNotExist) // said, so that a mistyped -data-dir shows
	started := time.Now()
	version, err := sqlite.Restore(ctx, cfg.DataDir, file)
	switch {
	case errors.Is(err, sqlite.ErrDirInUse):
		return fmt.Errorf("restore refused: a server is using %s (or an import or another restore is); stop it or let it end, then restore: %w", cfg.DataDir, err)
	case errors.Is(err, sqlite.ErrNotRestorable):
		return fmt.Errorf("restore refused, %s left as it was: %w", cfg.DataDir, err)
	case err != nil:
		return fmt.Errorf("restore: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "%s did not exist: created it\n", cfg.DataDir)
	}
	fmt.Fprintf(stdout, "restored %s into %s (schema version %d) in %v; a server started on %s now serves it\n",
		file, filepath.Join(cfg.DataDir, sqlite.FileName), version, time.Since(started).Round(time.Millisecond), cfg.DataDir)
	return nil
}

// embeddedOnly refuses command when cfg names MongoDB: backups of MongoDB
// are MongoDB's own tools' work.
func embeddedOnly(command string, cfg *config) error {
	if cfg.MongoURI != "" {
		return fmt.Errorf("%s is for the embedded SQLite store, and MONGODB_URI (or -mongodb-uri) names MongoDB: use mongodump and mongorestore, or your host's snapshots", command)
	}
	return nil
}

// parseBackupArgs parses a subcommand's flags and its one positional
// argument, a file, which may come before, between or after the flags. It
// returns the file, or an error naming usage.
func parseBackupArgs(fs *flag.FlagSet, args []string, usage string) (string, error) {
	files, err := parseFlagsAndFiles(fs, args, usage)
	if err != nil {
		return "", err
	}
	if len(files) != 1 || files[0] == "" {
		return "", fmt.Errorf("bad command line for %s: name one file: %s", fs.Name(), usage)
	}
	return files[0], nil
}

// byteSize writes n bytes in MiB (or KiB, under one MiB), with the exact count.
func byteSize(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
}

// lockDataDir takes the data directory's lock (sqlite.LockDir) for a
// server on the embedded store, and returns its release: a second server,
// or a restore, on the same directory is refused until then. On MongoDB
// there is nothing to lock.
func lockDataDir(cfg config) (unlock func(), err error) {
	if cfg.MongoURI != "" {
		return func() {}, nil
	}
	unlock, err = sqlite.LockDir(cfg.DataDir)
	if errors.Is(err, sqlite.ErrDirInUse) {
		return nil, fmt.Errorf("another server is using the data directory %s (or an import or a restore is: let it end): stop it, or give this one a DATA_DIR of its own: %w", cfg.DataDir, err)
	}
	return unlock, err
}
