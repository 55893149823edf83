//go:build race

package diskstore_test

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// is put back, on purpose.
const raceEnabled = true
