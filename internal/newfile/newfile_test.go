package newfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotconsole/bff/internal/newfile"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestCommittedFileHasEveryByteUnderItsName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "export.jsonl")
	f, err := newfile.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("half"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || len(b) != 0 {
		t.Fatalf("while written, the name holds %q (%v); want the empty reservation", b, err)
	}
	if _, err := f.WriteString(" and the rest\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Discard() // as a deferred Discard does: nothing once committed
	if b, err := os.ReadFile(path); err != nil || string(b) != "half and the rest\n" {
		t.Errorf("committed: %q, %v", b, err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left in the directory: %v", names)
	}
}

func TestDiscardedFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := newfile.Create(filepath.Join(dir, "backup.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("part of it")
	f.Discard()
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left in the directory: %v", names)
	}
}

func TestAFileThatExistsIsNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newfile.Create(path); !errors.Is(err, newfile.ErrExists) || !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file: %v; want ErrExists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("the file now holds %q", b)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left in the directory: %v", names)
	}
	if _, err := newfile.Create(dir); !errors.Is(err, newfile.ErrExists) || !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "is a directory") || strings.Contains(err.Error(), "exists") {
		t.Errorf("Create over a directory: %v; want ErrExists saying it is a directory", err)
	}
}
