// Package testhelp holds the helpers the tests of several packages share.
// Only tests import it.
package testhelp

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Patience bounds a test's wait on progress: far more than a step needs on a
// machine loaded to 20 and more, far less than a stuck one would take, so
// that the test fails saying what it waited for rather than at go test's
// timeout. It is a limit, never a measure.
const Patience = 2 * time.Minute

// Await waits until done is closed, or fails the test after Patience
// saying what it was waiting for.
func Await(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(Patience):
		t.Fatalf("still waiting after %s for %s", Patience, what)
	}
}

// Get fetches url and returns its status and body; a request that fails
// returns status 0 and the error as the body, so that a wait can go on.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // a test's loopback server, bounded by the test's waits
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// WaitFor polls url until it answers want, or fails the test after timeout.
func WaitFor(t testing.TB, url string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := Get(t, url)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d %q, want %d within %s", url, code, body, want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HCM is FPT Cloud's billing time zone, Asia/Ho_Chi_Minh.
func HCM(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatalf("loading the billing time zone: %v", err)
	}
	return loc
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes: a log sink that a
// server under test writes to while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreeAddr returns a loopback address whose port was free a moment ago, for
// a server that cannot listen on port 0. Another process may take the port
// before the server binds it: StartServer's port 0 is safer.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Tail is the last n bytes of b.
func Tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
