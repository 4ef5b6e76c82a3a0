package testhelp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server started by Start.
type Process struct {
	name    string
	logPath string // its stdout and stderr
	exited  chan struct{}
	stop    func() // safe to call again
}

// Start starts a server with its output in dir/name.log and stops it
// (SIGTERM, then SIGKILL after 15s) at the latest when the test ends;
// servers stop in the reverse order of their start. The end of the log is
// shown if the test failed.
func Start(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	defer logFile.Close() // the server writes to its own copy

	// Not t.Context(): that would signal every server at once when the test
	// ends, not one by one in the order of the cleanups.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	p := &Process{name: name, logPath: logPath, exited: exited}
	p.stop = sync.OnceFunc(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("%s log (last 4 KiB):\n%s", name, Tail([]byte(p.Log()), 4<<10))
		}
	})
	t.Cleanup(p.stop)
	return p
}

// Log is what the process has written so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// AddrFunc finds in a server's log the address it listens on.
type AddrFunc func(log string) (addr string, ok bool)

// Addr waits until addrOf finds in the process's log the address it
// listens on, and returns it. It returns an error, with the end of the
// log, if the process exits first, and fails the test after Patience.
func (p *Process) Addr(t testing.TB, addrOf AddrFunc) (string, error) {
	t.Helper()
	deadline := time.After(Patience)
	for {
		if addr, ok := addrOf(p.Log()); ok {
			return addr, nil
		}
		select {
		case <-p.exited:
			return "", fmt.Errorf("%s exited before it listened:\n%s", p.name, Tail([]byte(p.Log()), 2<<10))
		case <-deadline:
			t.Fatalf("%s named no listen address in its log after %s:\n%s", p.name, Patience, Tail([]byte(p.Log()), 2<<10))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// StartServer starts a server like Start, with args that have it listen on
// port 0 (e.g. --web.listen-address=127.0.0.1:0), and returns the address
// it bound, as addrOf reads it in its log, and a func that stops it. The
// test fails if the server exits first or names no address within Patience.
func StartServer(t testing.TB, dir, name string, addrOf AddrFunc, bin string, args ...string) (addr string, stop func()) {
	t.Helper()
	p := Start(t, dir, name, bin, args...)
	addr, err := p.Addr(t, addrOf)
	if err != nil {
		t.Fatal(err)
	}
	return addr, p.stop
}

// listeningOnRE matches the line exporter-toolkit logs once its listener is
// bound, in any logfmt of Prometheus 2 and 3 (see the test for examples).
var listeningOnRE = regexp.MustCompile(`msg="Listening on".*?\baddress="?([^"\s]+)`)

// ListeningOn is the AddrFunc of servers built on exporter-toolkit (the
// exporter, Prometheus, Alertmanager): the bound address, so with port 0 the
// kernel's pick (unlike Prometheus' "Start listening for connections" line,
// which says port 0). The log level must let info through.
func ListeningOn(log string) (string, bool) {
	if m := listeningOnRE.FindStringSubmatch(log); m != nil {
		return m[1], true
	}
	return "", false
}
