// Package newfile writes a file that appears under its name only whole, and
// never over a file that exists: exports, backups and seed files, which a
// reader must not take for complete when the writer was stopped midway.
package newfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a new file being written: the bytes go to a hidden temporary file
// beside its name (the embedded *os.File, readable by its owner only),
// which takes the name at Commit.
type File struct {
	*os.File
	path      string
	committed bool
}

// ErrExists is Create's error for a name that a file (or anything else)
// already has; errors.Is(err, fs.ErrExist) holds for it too.
var ErrExists error = existsError("a file that exists is never overwritten; name a new one")

// existsError is ErrExists's kind: a message that says what exists.
type existsError string

func (e existsError) Error() string { return string(e) }

func (e existsError) Is(target error) bool { return target == fs.ErrExist || target == ErrExists }

// Create reserves path (an empty file, created only if nothing has the name,
// mode 0600) and opens the temporary file beside it. It returns ErrExists
// if path exists (saying so when it is a directory), or the file system's
// error.
func Create(path string) (*File, error) {
	reserved, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if info, statErr := os.Stat(path); statErr == nil && info.IsDir() {
			return nil, existsError(path + " is a directory: name a new file (in it, say)")
		}
		return nil, fmt.Errorf("%s: %w", path, ErrExists)
	}
	if err != nil {
		return nil, err
	}
	_ = reserved.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return &File{File: tmp, path: path}, nil
}

// Commit syncs the temporary file (whatever wrote it: this File or another
// program given its Name), gives it the reserved name and syncs the
// directory, so that the name holds every byte or, after a crash, none. On
// an error it discards the file.
func (f *File) Commit() error {
	err := f.Sync()
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		f.Discard()
		return err
	}
	f.committed = true
	dir, err := os.Open(filepath.Dir(f.path))
	if err != nil {
		return err
	}
	return errors.Join(dir.Sync(), dir.Close())
}

// Discard closes and removes the temporary file and the reservation: the
// name is free again. After Commit it does nothing, so that a writer may
// defer it. A process killed before Commit or Discard leaves the
// reservation empty and the temporary file hidden beside it.
func (f *File) Discard() {
	if f.committed {
		return
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	_ = os.Remove(f.path)
}
