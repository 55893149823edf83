// Package storagetest is the conformance suite for [storage.Store]
// implementations, in the manner of gocloud.dev's drivertest.
//
// A backend's test calls [Run] with a function that returns a new, empty
// store; the suite runs one named subtest per behaviour, each on a fresh
// store: missing keys, overwrite, atomic and cancelled puts, sequential
// and concurrent create-if-absent, listing order, delimiters and
// pagination, rejected keys, a large streaming round trip with bounded
// memory, range reads, delete, Stat, and an [fs.FS] view that passes
// [testing/fstest.TestFS].
//
// [Sub] adapts a backend's constructor so that the suite runs on a
// [storage.Sub] prefix view of it, with objects just outside the view.
//
// The concurrent create check is also available as [CheckConcurrentCreate],
// which returns an error instead of failing a test, so that the check
// itself can be tested against a store that is known to be wrong.
//
// # Concurrency
//
// Subtests run one after another, since the large round trip measures the
// heap of the whole process; tests of different backends may run in
// parallel with each other only if that check is turned off.
package storagetest
