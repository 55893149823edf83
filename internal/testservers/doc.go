// Package testservers starts local object-storage servers for tests:
// versitygw (S3), fake-gcs-server (GCS) and Azurite (Azure Blob), each on
// 127.0.0.1 and a free port, following the recipes in the project's
// storage-servers notes.
//
// A Start function finds the server's binary, starts it in its own process
// group, waits (a bounded time) until it answers, and registers a cleanup
// that stops it: SIGTERM to the group, then SIGKILL if it has not exited (on Windows, which has neither, an interrupt and then a kill)
// within a few seconds. [Server.NewBucket] creates a new empty bucket and
// returns the gocloud.dev URL that opens it; [Server.Setenv] sets the
// environment variables the gocloud driver needs (credentials, and for GCS
// the emulator host), so it cannot be used from parallel tests.
//
// When a binary is missing the test is skipped with the command that
// installs it, unless MODELVAULT_REQUIRE_SERVERS=1, when it fails. The
// binaries are looked up in an override variable
// (MODELVAULT_VERSITYGW, MODELVAULT_FAKE_GCS_SERVER, MODELVAULT_AZURITE_BLOB),
// then PATH, then $GOPATH/bin.
package testservers
