// Package spoolfile creates the temporary files that uploads and
// imports spool a package into, so that a process killed while it holds
// one leaves nothing behind.
//
// Where an open file can be unlinked (Unix), [Create] unlinks the file at
// once: it lives while it is open and has no name in its directory.
// Elsewhere (Windows) [File.Close] removes it, and whatever a killed
// process left keeps its name until the caller's sweep of stale files
// removes it.
package spoolfile
