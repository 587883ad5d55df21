//go:build race

package main

// raceEnabled makes TestMain build offsetctl with the race detector when
// the tests run with it.
const raceEnabled = true
