//go:build race

package testhelp

// RaceEnabled reports whether the tests run under the race detector.
const RaceEnabled = true
