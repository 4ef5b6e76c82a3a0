//go:build race

package fptapitest

// raceEnabled: the race detector slows the hot path about tenfold.
const raceEnabled = true
