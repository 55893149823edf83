// Package blobstore is a [storage.Store] over a gocloud.dev [blob.Bucket]:
// Amazon S3 and S3-compatible servers, Google Cloud Storage, Azure Blob
// Storage, or gocloud's in-memory bucket.
//
// The package imports gocloud.dev/blob only. A host chooses its clouds by
// blank-importing their drivers, so that SDKs it does not use stay out of
// its build:
//
//	import _ "gocloud.dev/blob/s3blob"     // s3://
//	import _ "gocloud.dev/blob/gcsblob"    // gs://
//	import _ "gocloud.dev/blob/azureblob"  // azblob://
//	import _ "gocloud.dev/blob/memblob"    // mem://
//
// then calls [Open] with a URL, or builds a *blob.Bucket itself and calls
// [New]. URL parameters, credentials and environment variables are the
// drivers' own (for example s3://bucket?region=eu-west-1, or
// gs://bucket?prefix=models/ to confine the store to a prefix).
//
// Puts use [blob.Bucket.Upload] (never a *blob.Writer and never
// ContentMD5): gocloud.dev v0.47.0's azureblob writer panics when a write
// made through NewWriter fails, for example when a create-if-absent loses
// its race; Upload takes a path that does not.
//
// Do not use file:// URLs (gocloud's fileblob) for a shared store: its
// IfNotExist is a check followed by a rename, so several concurrent
// creators can all "win". Use storage/diskstore for local directories.
//
// # Errors
//
// Errors are [*fs.PathError] values with the key as Path. gocloud's
// NotFound becomes [storage.ErrNotExist]; with IfNotExist,
// FailedPrecondition (S3 and GCS answer 412, Azure 409) and AlreadyExists
// become [storage.ErrExist]. The driver's error stays in the chain, so
// [blob.Bucket.ErrorAs] and [errors.As] still reach it.
//
// The write contract is [storage.Portable]'s. Once an upload has read
// all its data, its end (the last parts and the commit request) runs
// detached from the caller's context, bounded by [Options.CommitTimeout],
// so a client that disconnects cannot undo or hide a commit; nothing is
// ever deleted after a create. Cloud SDKs retry a conditional PUT whose
// response was lost, and the retry is refused (412) because of the
// put's own object: every "already exists" answer to a put that sent all
// its bytes, and every transport error or timeout after that, is
// resolved by identity: every put stores a random tag in the object's
// metadata ("mvputid"), which is read back and compared (ours: success;
// another object: [storage.ErrExist]; nothing: retried, if the reader is
// an [io.Seeker], else [storage.ErrUnknownOutcome]). So of several
// writers of identical bytes exactly one still wins. An object without
// the tag (written by another tool) is compared by size and SHA-256.
//
// S3 may answer a conditional put racing another one with 409
// ConditionalRequestConflict ("retry"), which gocloud reports as Unknown.
// Put retries it a bounded number of times with backoff
// ([Options.ConflictRetries]): it waits, then checks whether the other
// writer's object has appeared (then the put lost: [storage.ErrExist]) and
// otherwise uploads again, which needs the reader to be an [io.Seeker]
// (as [storage.WriteAll]'s is). A put that cannot retry returns an error
// matching [ErrConflict] (= [storage.ErrConflict]).
//
// # Concurrency
//
// A Store is safe for concurrent use. Create-if-absent is decided by the
// server, so it holds among every client of the bucket, given a server that
// honours conditional writes (AWS S3, GCS, Azure, versitygw,
// fake-gcs-server and Azurite do; see the project's test notes).
// A [storage.Reader]'s ReadAt makes one ranged request per call, using the
// context given to Get; if the object is replaced while the Reader is
// open, ranged reads may see the new object.
//
// # Security and limits
//
// Keys are checked by [storage.ValidKey]. Objects in the bucket whose
// names are not valid keys (written by other tools) are left out of
// listings and cannot be read through the Store.
package blobstore
