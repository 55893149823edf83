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
// [WriteAll], [Exists], [All], [Pages], [DeletePrefix], [Copy], [FS] (an
// [fs.FS] view of a prefix), [Sub] (a Store that is a prefix view of
// another, like [fs.Sub]: one model per prefix of one bucket) and
// [CheckConditionalCreate] (refuses a server that ignores create-if-absent).
//
// # One write contract: Portable over Driver
//
// As gocloud.dev/blob sits over blob/driver, every backend is a thin
// [Driver] behind [Portable], which owns what they share: key, option and
// context checks, error wrapping, retrying conflicts, and the commit rules.
// Until the driver has read a put's data to its end, cancelling the
// context aborts the put and nothing is stored. From then on the commit
// runs detached from the caller's context, with its own bound
// ([PortableOptions.CommitTimeout]): a commit that happened is reported as
// a success and is never undone. A conditional create whose answer was
// lost (a reset connection, a timeout, an SDK retry refused with 412 for
// the put's own object) is resolved by identity: the key is read back and
// its size and SHA-256 compared with what was sent, or, with a
// [TagDriver] such as blobstore's, the random tag the put stored with it;
// ours is a success, another object is [ErrExist].
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
//     ctx ends; a put interrupted that way, before its data was all read,
//     leaves nothing behind.
//   - [ErrConflict]: a put refused because of a concurrent conditional
//     write (S3's 409) after the retries ran out.
//   - [ErrUnknownOutcome]: a put whose request was sent whole, whose
//     answer was lost, and that reading back could not settle; the object
//     may or may not be stored. Every other put error means nothing of
//     this put was stored, except where a backend documents otherwise.
//   - [ErrNoConditionalCreate], from [CheckConditionalCreate] only.
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
