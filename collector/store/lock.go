package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// lockName is the lock file in a store directory. Prune and
// removeTemporaries leave it alone: it is not a day file, and not in the
// temporary files' directory.
const lockName = ".lock"

// ErrLocked marks a store directory another process holds the lock of. The
// error that wraps it is a *LockedError.
var ErrLocked = errors.New("store in use by another process")

// LockedError says which process holds a store directory's lock.
type LockedError struct {
	Dir string
	// PID is the holder's process ID, 0 if unknown: the holder may not
	// have written it yet.
	PID int
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("store %s is in use by %s: run one exporter per --storage.path", e.Dir, who)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DirLock is a store directory's lock, held until Unlock or the end of the
// process.
type DirLock struct{ f *flock.Flock }

// Lock takes the store directory's lock file (dir/.lock) for the life of
// the process, so that two exporters do not overwrite each other's days.
// dir is created 0700 if missing. Lock does not wait: if another process
// holds the lock, the error wraps ErrLocked and is a *LockedError naming
// that process. The kernel releases the lock when its holder exits, even
// killed, so a lock file left behind is simply taken over.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, lockName)
	// O_NONBLOCK and O_NOFOLLOW as in readRegular: a FIFO or a link in the
	// lock file's place must not hang or redirect the open.
	f := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK), flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("store: locking %s: %w", path, err)
	}
	if !ok {
		return nil, &LockedError{Dir: dir, PID: holder(path)}
	}
	if err := writePID(f); err != nil {
		_ = f.Unlock()
		return nil, fmt.Errorf("store: lock file %s: %w", path, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The lock file stays: removing it would let a
// process that opened it just before lock a file no one else sees.
func (l *DirLock) Unlock() error {
	if err := l.f.Unlock(); err != nil {
		return fmt.Errorf("store: unlocking %s: %w", l.f.Path(), err)
	}
	return nil
}

// writePID replaces the locked file's content with this process's ID, for
// the error of the next process that tries the lock. Whatever a previous
// holder left there goes.
func writePID(f *flock.Flock) error {
	info, err := f.Stat() // the locked descriptor's
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return notRegular(info.Mode())
	}
	w, err := os.OpenFile(f.Path(), os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	// The file locked, not one renamed over it since.
	if wi, err := w.Stat(); err != nil || !os.SameFile(info, wi) {
		_ = w.Close()
		return errors.New("replaced while being locked")
	}
	// A leftover file may have any mode; the create mode is also cut by
	// the umask.
	if err := w.Chmod(0o600); err != nil {
		_ = w.Close()
		return err
	}
	if _, err := w.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// holder returns the PID in the lock file at path, 0 if there is none.
func holder(path string) int {
	b, err := readRegular(path, 32)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
