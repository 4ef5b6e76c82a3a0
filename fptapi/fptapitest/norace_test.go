//go:build !race

package fptapitest

const raceEnabled = false
