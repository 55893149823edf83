// Package comparebench holds no code: its benchmark compares a modelvault
// import with what a user would otherwise do to unpack and verify a model
// package, on the same package and the same disk, everything fsynced:
//
//   - modelvault: registry.ImportReaderAt into a fresh diskstore (each file
//     written to a temporary file, fsynced, renamed, its directory
//     fsynced; SHA-256 computed in the same pass and checked against the
//     manifest; the default validators; the registry's log event, also
//     fsynced);
//   - unzip + sha256sum: `unzip -o -q PKG -d OUT`, then
//     `sha256sum -- OUT/*`, then `sync -- OUT/* OUT` (coreutils sync
//     with file arguments fsyncs each file and the directory: the same
//     durability as diskstore, without touching other processes' data);
//   - Python: /usr/bin/python3 running zipfile.ZipFile.extractall, then
//     hashlib.file_digest(f, "sha256") of each extracted file, then
//     os.fsync of each file and of the directory;
//   - floor: Go code that only writes the same bytes to files, all at
//     once, and fsyncs them and the directory, with no unzipping and no
//     hashing: the device's limit, which bounds any speed-up on stored
//     packages.
//
// A second run, fsync=false, does the same with no fsync anywhere (no
// sync step, diskstore with NoSync): what each tool costs on its own,
// without the device's limit.
//
// Run it with
//
//	go test -run '^$' -bench Compare -benchtime 3x ./internal/comparebench
//
// It is part of the performance record (internal/cmd/benchrecord). The
// benchmark is skipped, with the install command, when unzip or
// /usr/bin/python3 is missing.
package comparebench
