package store

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/billing"
)

// TestLockTwice: flock(2) locks belong to an open file description, so a
// second open of the lock file in this process contends like another
// process would.
func TestLockTwice(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	l, err := Lock(dir)
	require.NoError(t, err)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "Lock creates the directory")
	assertMode(t, filepath.Join(dir, lockName), 0o600)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(readAll(t, filepath.Join(dir, lockName))))

	other := flock.New(filepath.Join(dir, lockName))
	ok, err := other.TryLock()
	require.NoError(t, err)
	assert.False(t, ok, "another handle on the file does not get the lock")

	_, err = Lock(dir)
	require.ErrorIs(t, err, ErrLocked)
	var locked *LockedError
	require.ErrorAs(t, err, &locked)
	assert.Equal(t, dir, locked.Dir)
	assert.Equal(t, os.Getpid(), locked.PID)
	assert.Equal(t, "store "+dir+" is in use by another process (pid "+strconv.Itoa(os.Getpid())+
		"): run one exporter per --storage.path", err.Error())

	require.NoError(t, l.Unlock())
	l, err = Lock(dir)
	require.NoError(t, err, "unlocked, the directory can be locked again")
	require.NoError(t, l.Unlock())
}

// TestLockTakesOverLeftovers: a lock file left by a process that died (kill
// -9 leaves one) holds no lock, whatever it says; it is taken over and made
// this process's, 0600.
func TestLockTakesOverLeftovers(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"old pid": "4194304\n",
		"garbage": "\x00not a pid\n",
		"empty":   "",
		"long":    "123456789012345678901234567890123456789012345678901234567890\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, lockName)
			require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			l, err := Lock(dir)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, l.Unlock()) })
			assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(readAll(t, path)))
			assertMode(t, path, 0o600)
		})
	}
}

// TestLockedWithoutPID: a holder that has not written its PID yet is still
// a holder; the error says so without a PID.
func TestLockedWithoutPID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder := flock.New(filepath.Join(dir, lockName))
	ok, err := holder.TryLock()
	require.NoError(t, err)
	require.True(t, ok)
	t.Cleanup(func() { assert.NoError(t, holder.Unlock()) })

	_, err = Lock(dir)
	require.ErrorIs(t, err, ErrLocked)
	var locked *LockedError
	require.ErrorAs(t, err, &locked)
	assert.Zero(t, locked.PID)
	assert.Equal(t, "store "+dir+" is in use by another process: run one exporter per --storage.path", err.Error())
}

// TestLockRefusesNonRegularFile: a FIFO in the lock file's place neither
// blocks Lock nor counts as a lock.
func TestLockRefusesNonRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, lockName), 0o600))
	done := make(chan error, 1)
	go func() {
		l, err := Lock(dir)
		if err == nil {
			_ = l.Unlock()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "is a named pipe, not a regular file")
		require.NotErrorIs(t, err, ErrLocked)
	case <-time.After(patience(t)):
		t.Fatal("Lock blocked on a FIFO")
	}
}

// TestLockFileIsNotADayFile: neither Open's sweep of temporaries nor Prune
// takes the lock file, however old, for one of theirs.
func TestLockFileIsNotADayFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Lock(dir)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, l.Unlock()) })
	old := time.Now().Add(-2 * temporaryMaxAge)
	require.NoError(t, os.Chtimes(filepath.Join(dir, lockName), old, old))
	s, err := Open(dir, testID)
	require.NoError(t, err)
	require.NoError(t, s.Save(testDay("2026-11-03")))
	require.NoError(t, s.Prune(billing.NewDate(9999, 12, 31)))
	assert.Equal(t, []string{lockName}, names(t, dir))
}

// TestLockAcrossProcesses: another process holding the lock is named by
// its PID; once it is killed with SIGKILL, the lock is free.
func TestLockAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		require.Equal(t, "locked\n", line)
	case <-time.After(patience(t)):
		t.Fatal("the helper process did not take the lock")
	}

	_, err = Lock(dir)
	var locked *LockedError
	require.ErrorAs(t, err, &locked)
	require.ErrorIs(t, err, ErrLocked)
	assert.Equal(t, cmd.Process.Pid, locked.PID)
	assert.Contains(t, err.Error(), "(pid "+strconv.Itoa(cmd.Process.Pid)+")")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exit)
	l, err := Lock(dir)
	require.NoError(t, err, "the kernel released the killed process's lock")
	t.Cleanup(func() { assert.NoError(t, l.Unlock()) })
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(readAll(t, filepath.Join(dir, lockName))))
}

// helperEnv, set to 1, makes TestHelperProcess a helper.
const helperEnv = "STORE_TEST_HELPER_PROCESS"

// TestHelperProcess is not a test: run by TestLockAcrossProcesses, it holds
// the lock of its working directory until killed or its stdin closes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("run by TestLockAcrossProcesses")
	}
	if _, err := Lock("."); err != nil {
		t.Fatal(err)
	}
	_, _ = os.Stdout.WriteString("locked\n")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes
}
