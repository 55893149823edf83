// Package storage defines [Store], the small streaming interface over which
// modelvault keeps packages and registry state, and helpers over it.
//
// A Store is a flat namespace of objects addressed by slash-separated keys
// ("models/bert/1.2.0.zip"). It has five context-first methods: Get
// (a [Reader] that also does ranged reads, so a ZIP in the store can be
// opened without downloading it), Put (from an [io.Reader], atomic, with an
// optional create-if-absent), Stat, List (by prefix, in lexical key order,
// paged, optionally rolled up by "/") and Delete (idempotent).
// Conveniences are functions over the interface, like [io/fs]'s: [ReadAll],
// [WriteAll], [Exists], [All], [Pages], [DeletePrefix], [Copy], and [FS], an
// [fs.FS] view of a prefix.
//
// Backends live in their own packages, so that a host compiles only what it
// uses: storage/diskstore (a local directory), storage/aferostore (any
// afero file system, in-memory for tests), storage/blobstore (S3, GCS,
// Azure Blob and more through gocloud.dev) and storage/storeurl (opens one
// of those from a URL or a directory path). storage/storagetest is the
// conformance suite every backend passes.
//
// # Errors
//
// Every failure that concerns one key is an [*fs.PathError] whose Path is
// the key and whose Op is the method ("get", "put", "stat", "list",
// "delete"). Callers test it with [errors.Is]:
//
//   - [ErrNotExist] (= [fs.ErrNotExist]): Get or Stat of a missing key.
//     Delete of a missing key is not an error.
//   - [ErrExist] (= [fs.ErrExist]): Put with [PutOptions.IfNotExist] onto an
//     existing key, including losing a race to create it.
//   - [ErrInvalidKey] (= [fs.ErrInvalid]): a key that [ValidKey] rejects, a
//     prefix that [ValidPrefix] rejects, or a delimiter other than "/".
//     Nothing is touched.
//   - A context error ([context.Canceled], [context.DeadlineExceeded]) when
//     ctx ends; a put interrupted that way leaves nothing behind.
//
// Other errors (I/O, network, permissions) are passed through wrapped.
//
// # Concurrency
//
// Stores are safe for concurrent use by many goroutines. A put is atomic:
// a concurrent Get sees the previous object or the whole new one, never a
// prefix. Of any number of concurrent puts with IfNotExist to one key,
// exactly one succeeds and its bytes are stored; the scope of that
// guarantee (one process, one machine, every client of a bucket) is given
// by each backend. A [Reader] may be used by one goroutine at a time for
// Read, but its ReadAt may be called concurrently.
//
// # Security and limits
//
// Keys are untrusted input: [ValidKey] is the one place they are checked,
// and every backend calls it before acting, so a key such as "../x",
// "/etc/passwd" or "a\\b" is an error, never a path outside the store.
// Keys are limited to [MaxKeyLen] bytes and elements to [MaxElemLen], the
// strictest of the supported backends, so that any key works everywhere.
// Object sizes are not limited by this package; a [Reader]'s Size is what
// the backend reports, and [ReadAll] reads until EOF rather than trusting
// it. Callers that read untrusted objects should bound reads themselves
// (with [io.LimitReader]).
package storage
