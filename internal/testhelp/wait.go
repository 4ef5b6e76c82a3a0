package testhelp

import (
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
