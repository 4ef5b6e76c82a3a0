package testhelp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Process is a server started by Start.
type Process struct {
	Name    string
	LogPath string          // its stdout and stderr
	Exited  <-chan struct{} // closed once it has exited
	Stop    func()          // stops it at once (see Start); safe to call again
}

// Start starts a server with its output in dir/name.log and stops it
// (SIGTERM, then SIGKILL after 15s) at the latest when the test ends;
// servers stop in the reverse order of their start. Process.Stop stops it
// earlier. The end of the log is shown if the test failed.
func Start(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	// Stopped by Stop below, with a grace period, rather than killed by a
	// context.
	cmd := exec.CommandContext(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p := &Process{Name: name, LogPath: logPath, Exited: exited}

	stopped := false
	p.Stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("%s log (last 4 KiB):\n%s", name, Tail([]byte(p.Log()), 4<<10))
		}
	}
	t.Cleanup(p.Stop)
	return p
}

// Log is what the process has written so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Addr waits until addrOf finds in the process's log the address it
// listens on, and returns it. It returns an error, with the end of the
// log, if the process exits first, and fails the test after Patience.
func (p *Process) Addr(t testing.TB, addrOf AddrFunc) (string, error) {
	t.Helper()
	addr, exited := waitAddr(t, p.Name, p.Log, addrOf, p.Exited)
	if exited {
		return "", fmt.Errorf("%s exited before it listened:\n%s", p.Name, Tail([]byte(p.Log()), 2<<10))
	}
	return addr, nil
}

// StartServer starts a server like Start, with args that have it
// listen on port 0 (e.g. --web.listen-address=127.0.0.1:0), and returns
// the address it bound, as addrOf reads it in its log. The port is the
// kernel's pick, held by the server from the start: no other process can
// take it in between, as it can one freed by FreeAddr. The test fails if
// the server exits first or names no address within Patience.
func StartServer(t testing.TB, dir, name string, addrOf AddrFunc, bin string, args ...string) (addr string, stop func()) {
	t.Helper()
	p := Start(t, dir, name, bin, args...)
	addr, err := p.Addr(t, addrOf)
	if err != nil {
		t.Fatal(err)
	}
	return addr, p.Stop
}
