package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockName is the lock file in a store directory. Prune and
// removeTemporaries leave it alone: it is not a day file, and not in the
// temporary files' directory.
const lockName = ".lock"

// ErrLocked marks a store directory another process holds the lock of.
var ErrLocked = errors.New("store in use by another process")

// lockedError is an error message that wraps ErrLocked without its text.
type lockedError string

func (e lockedError) Error() string        { return string(e) }
func (e lockedError) Is(target error) bool { return target == ErrLocked }

// DirLock is a store directory's lock, held until Unlock or the end of the
// process.
type DirLock struct{ f *os.File }

// Lock takes the store directory's lock file (dir/.lock) for the life of
// the process, so that two exporters do not overwrite each other's days.
// dir is created 0700 if missing. Lock does not wait: if another process
// holds the lock, the error wraps ErrLocked and names that process. The
// kernel releases the lock when its holder exits, even killed, so a lock
// file left behind is simply taken over.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, lockName)
	// O_NOFOLLOW and O_NONBLOCK as in readRegular: a link or a FIFO in the
	// lock file's place must not redirect or hang the open.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: locking %s: %w", path, err)
	}
	// flock(2) locks belong to the open file description: closing f
	// releases the lock, and a second Lock in this process contends.
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		defer f.Close()
		return nil, locked(dir, f)
	}
	if err == nil {
		err = writePID(f)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("store: lock file %s: %w", path, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The lock file stays: removing it would let a
// process that opened it just before lock a file no one else sees.
func (l *DirLock) Unlock() error { return l.f.Close() }

// writePID replaces the locked file's content with this process's ID, for
// the error of the next process that tries the lock.
func writePID(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return notRegular(info.Mode())
	}
	// A leftover file may have any mode; the create mode is also cut by
	// the umask.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return err
}

// locked is the error for dir, whose lock file f another process holds. It
// names that process by the ID in f, unless the holder has not written it
// yet.
func locked(dir string, f *os.File) error {
	who := "another process"
	b, _ := io.ReadAll(io.LimitReader(f, 32)) // a failed read is no ID
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
		who = fmt.Sprintf("another process (pid %d)", pid)
	}
	return lockedError(fmt.Sprintf("store %s is in use by %s: run one exporter per --storage.path", dir, who))
}
