//go:build race

package testhelp

// RaceEnabled reports whether the tests run under the race detector, which
// slows hot paths about tenfold: tests that time or size work scale down.
const RaceEnabled = true
