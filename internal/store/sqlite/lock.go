package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// LockFileName is the name of the lock file inside the data directory. The
// file itself means nothing and stays there; only the advisory lock on it
// does, and the kernel drops that lock when its holder exits, however it
// exits.
const LockFileName = "bff.lock"

// ErrDirInUse is the error, wrapped, of LockDir when another process (or
// another LockDir of this one) holds the data directory's lock: a running
// server, or a restore.
var ErrDirInUse = errors.New("another process holds the data directory's lock")

// LockDir takes the exclusive advisory lock (flock(2), LOCK_EX|LOCK_NB) of
// the data directory dir, creating dir (0750) and its lock file (0600) if
// needed, and writes the holder's process id into the file. It does not
// wait: if the lock is held it returns an error wrapping ErrDirInUse that
// names the lock file and, when it can read it, the holder's process id.
//
// A server takes the lock for as long as it serves on dir, and `server
// restore` for as long as it replaces the database, so that neither
// replaces a database under the other. Open does not take it: the backup
// command, maintenance tools and tests read a served store through Open.
//
// unlock releases the lock; calling it again does nothing. The locks of
// flock(2) belong to an open file, so two LockDir in one process exclude
// each other as two processes do.
func LockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := ""
			if b, _ := os.ReadFile(path); len(strings.TrimSpace(string(b))) > 0 {
				holder = ", held by process " + strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("data directory %s: %w (%s%s)", dir, ErrDirInUse, path, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Who holds it, for the message of the next one to try; best effort.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = f.Truncate(0)
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
		})
	}, nil
}
