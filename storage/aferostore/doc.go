// Package aferostore is a [storage.Store] over an [afero.Fs]: an in-memory
// file system for tests ([afero.NewMemMapFs]), a directory
// ([afero.NewBasePathFs] over [afero.NewOsFs]), or any other afero
// implementation that supports Rename.
//
// Object "a/b/c" is the file a/b/c. A put writes a temporary file in the
// target directory (named with [storage.ReservedPrefix]) and renames it
// into place, so readers never see a partial object. For real directories
// prefer storage/diskstore, which is confined by [os.Root], fsyncs
// directories and makes create-if-absent atomic across processes.
//
// # Errors
//
// Errors are [*fs.PathError] values with the key as Path and match the
// sentinels of package storage. A key cannot name both an object and a
// directory, as with storage/diskstore.
//
// # Concurrency
//
// A Store is safe for concurrent use. afero's O_EXCL is not atomic (in
// MemMapFs the existence check and the create take separate locks), so
// the Store serialises every publish (rename), conditional create and
// delete with a mutex of its own. The IfNotExist guarantee therefore holds
// only among users of one *Store in one process: two Stores (or two
// processes) over the same file system can both "win". Readers returned by
// Get serialise their own calls, because afero files (MemMapFs's among
// them) are not safe for concurrent ReadAt.
//
// # Security and limits
//
// Keys are checked by [storage.ValidKey] before they reach the Fs. The Fs
// itself decides what a path can reach: wrap a real directory in
// [afero.NewBasePathFs] (which does not stop symbolic links inside it from
// pointing elsewhere; diskstore does). MemMapFs keeps every object in the
// Go heap.
package aferostore
