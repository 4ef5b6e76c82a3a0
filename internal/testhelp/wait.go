package testhelp

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// Patience bounds a test's wait on progress: far more than the awaited step
// needs on a machine whose load reaches 20 and more, far less than a step
// that is stuck for good (an hour's backoff, a delay that never ends)
// would take, so that such a test fails saying what it waited for rather
// than at go test's timeout. It is a limit, never a measure: no test
// asserts that a step was quick.
const Patience = 2 * time.Minute

// Await waits until done is closed, or fails the test after Patience
// saying what it was waiting for.
func Await(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(Patience)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
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
