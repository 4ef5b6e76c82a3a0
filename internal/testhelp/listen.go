package testhelp

import (
	"regexp"
	"testing"
	"time"
)

// AddrFunc finds in a server's log the address it listens on.
type AddrFunc func(log string) (addr string, ok bool)

// listeningOnRE matches the line exporter-toolkit's web server logs once it
// has bound its listener, in logfmt, e.g.
//
//	level=info ... msg="Listening on" address=127.0.0.1:41297
//	time=... level=INFO ... msg="Listening on" component=web address=127.0.0.1:33069
var listeningOnRE = regexp.MustCompile(`msg="Listening on".*?\baddress="?([^"\s]+)`)

// ListeningOn is the AddrFunc of servers built on exporter-toolkit: the
// exporter, Prometheus (2 and 3) and Alertmanager. The address it logs is
// the listener's, so with port 0 the port the kernel gave it. (Prometheus
// also logs "Start listening for connections" with the address as asked,
// port 0; that line is not this one.) The level must let info through.
func ListeningOn(log string) (string, bool) {
	m := listeningOnRE.FindStringSubmatch(log)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// WaitAddr waits until addrOf finds an address in log(), the log so far of
// a server started in the test's process (e.g. the String of the
// SyncBuffer it logs to), and returns it; after Patience the test fails.
func WaitAddr(t testing.TB, what string, log func() string, addrOf AddrFunc) string {
	t.Helper()
	addr, _ := waitAddr(t, what, log, addrOf, nil)
	return addr
}

// waitAddr polls log until addrOf finds an address, or exited is closed
// (then it reports true; a nil exited never is).
func waitAddr(t testing.TB, what string, log func() string, addrOf AddrFunc, exited <-chan struct{}) (string, bool) {
	t.Helper()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if addr, ok := addrOf(log()); ok {
			return addr, false
		}
		select {
		case <-exited:
			return "", true
		case <-deadline.C:
			t.Fatalf("%s named no listen address in its log after %s:\n%s", what, Patience, Tail([]byte(log()), 2<<10))
			return "", false
		case <-tick.C:
		}
	}
}
