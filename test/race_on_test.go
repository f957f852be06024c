//go:build race

package test

// raceEnabled: the test binary runs with -race, and so does the gateway it
// builds.
const raceEnabled = true
