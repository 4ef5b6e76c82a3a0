package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fptcloud-exporter/fptcloud_exporter/internal/config"
	"github.com/fptcloud-exporter/fptcloud_exporter/internal/testhelp"
)

// asMainEnv makes the test binary run main itself: the tests below start
// the exporter as a process of its own, signals and exit code included.
const asMainEnv = "FPTCLOUD_EXPORTER_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// exporterProcess is the exporter started as a process by startProcess.
type exporterProcess struct {
	cmd       *exec.Cmd
	stderr    *testhelp.SyncBuffer
	done      chan struct{} // closed when it has exited
	firstLine chan struct{} // closed at its first line of log
}

func startProcess(t *testing.T, args ...string) *exporterProcess {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1", config.TokenEnv+"=")
	pipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	p := &exporterProcess{cmd: cmd, stderr: &testhelp.SyncBuffer{}, done: make(chan struct{}), firstLine: make(chan struct{})}
	require.NoError(t, cmd.Start())
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		r := bufio.NewReader(pipe)
		line, err := r.ReadBytes('\n')
		_, _ = p.stderr.Write(line)
		close(p.firstLine)
		if err == nil {
			_, _ = io.Copy(p.stderr, r)
		}
	}()
	go func() {
		<-copied
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *exporterProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to timeout for the process to exit and returns its code.
func (p *exporterProcess) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("still running %s later; its log:\n%s", timeout, p.stderr.String())
		return -1
	}
}

// TestSIGHUPAtStart: SIGHUP as the exporter starts, before its refresher or
// web server exist (systemd's ExecReload may send it then), never ends the
// process; SIGTERM then stops it cleanly.
func TestSIGHUPAtStart(t *testing.T) {
	t.Parallel()
	p := startProcess(t, "--demo", "--storage.path="+t.TempDir(), "--web.listen-address=127.0.0.1:0")
	<-p.firstLine // main runs and has logged, but has started nothing else yet
	for range 3 {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	require.False(t, p.exited(), "SIGHUP ended the exporter: %s", p.stderr.String())
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.waitExit(t, stopTimeout), p.stderr.String())
	assert.Contains(t, p.stderr.String(), "msg=stopped")
}

// TestSIGTERMWhileBlocked: a SIGTERM while start-up is blocked in the kernel
// (here reading a token file that is a FIFO nobody writes) still ends the
// process, within the stop timeout.
func TestSIGTERMWhileBlocked(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "token")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	p := startProcess(t, "--fpt.token-file="+fifo, "--web.listen-address=127.0.0.1:0")
	time.Sleep(300 * time.Millisecond)
	require.False(t, p.exited(), p.stderr.String())
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, p.waitExit(t, stopTimeout+5*time.Second))
	assert.Less(t, time.Since(start), stopTimeout+5*time.Second)
	assert.Contains(t, p.stderr.String(), "after the signal to stop: exiting")
}

// TestSecondExporterOnOneStore: a second exporter on a --storage.path in use
// exits 2 at once, naming the directory and the first one's process; a
// backfill and a check beside it run.
func TestSecondExporterOnOneStore(t *testing.T) {
	t.Parallel()
	env := noEnv
	dir := t.TempDir()
	first := startProcess(t, "--demo", "--storage.path="+dir, "--web.listen-address=127.0.0.1:0")
	<-first.firstLine
	require.Eventually(t, func() bool { return strings.Contains(first.stderr.String(), "month cache on disk") },
		testhelp.Patience, 10*time.Millisecond, first.stderr.String())

	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // should the lock wrongly be taken, run must not serve
	code := run(ctx, env, []string{"--demo", "--storage.path=" + dir, "--web.listen-address=127.0.0.1:0"}, io.Discard, &stderr)
	assert.Equal(t, 2, code)
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
	assert.Contains(t, stderr.String(), "--storage.path")
	assert.Contains(t, stderr.String(), dir)
	assert.Contains(t, stderr.String(), "pid "+strconv.Itoa(first.cmd.Process.Pid))

	require.NoError(t, first.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, first.waitExit(t, stopTimeout))
	// The lock goes with the process.
	second := startProcess(t, "--demo", "--storage.path="+dir, "--web.listen-address=127.0.0.1:0")
	require.Eventually(t, func() bool { return strings.Contains(second.stderr.String(), "month cache on disk") },
		testhelp.Patience, 10*time.Millisecond, second.stderr.String())
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGKILL))
	second.waitExit(t, testhelp.Patience)
	// A lock left by kill -9 is no lock.
	third := startProcess(t, "--demo", "--storage.path="+dir, "--web.listen-address=127.0.0.1:0")
	require.Eventually(t, func() bool { return strings.Contains(third.stderr.String(), "month cache on disk") },
		testhelp.Patience, 10*time.Millisecond, third.stderr.String())
}
