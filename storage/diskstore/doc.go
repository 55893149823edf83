// Package diskstore is a [storage.Store] over a local directory.
//
// Object "a/b/c" is the file a/b/c under the directory. The directory is
// opened with [os.OpenRoot], so no key, symbolic link or ".." can reach
// outside it. Puts are atomic and durable, in the way restic and
// litestream write: the bytes go to a temporary file in the target
// directory (named with [storage.ReservedPrefix]), which is fsynced and
// then renamed over the key, or hard-linked to it for
// [storage.PutOptions.IfNotExist] (the kernel's EEXIST decides the race),
// after which the directory is fsynced. Once the link or rename is done
// the put has succeeded: a temporary name that cannot be removed is left
// for [Store.Clean]. Directories are created as needed (the parent of a
// new directory is fsynced while the file is written, and a put into a
// directory another put has just created waits for that fsync) and
// removed by Delete when they become empty. Conditional creates need no
// probe ([Store.ConditionalCreates]). Checks and the commit rules are
// [storage.Portable]'s.
//
// A listing page reads the names of the directories on its path, skips
// those before the page token without stat'ing them, and stats only the
// files it returns, so paging through a large directory costs about one
// read of its names per page rather than a walk of everything before the
// token (see BENCHMARKS.md).
//
// # Errors
//
// Errors are [*fs.PathError] values with the key as Path and match the
// sentinels of package storage ([storage.ErrNotExist], [storage.ErrExist],
// [storage.ErrInvalidKey]). A key cannot name both an object and a
// directory: putting "a" while "a/b" exists, or "a/b" while "a" exists,
// fails (with IfNotExist, putting "a" reports [storage.ErrExist]); Get and
// Stat of a directory report [storage.ErrNotExist].
//
// # Concurrency
//
// A Store is safe for concurrent use, and the IfNotExist guarantee holds
// across goroutines and processes sharing the directory on one machine
// (it rests on link(2) being atomic, as it is on local file systems; some
// network file systems do not guarantee it). A crash can leave temporary
// files behind; List and Get never show them, and [Store.Clean] removes
// them.
//
// # Security and limits
//
// Keys are checked by [storage.ValidKey], then resolved inside the root.
// Symbolic links inside the directory are followed only while they stay
// inside it. [Store.LocalPath] returns an ordinary path, which does not
// have that protection: use it only with directories no one else can
// write to. With [Options.NoSync] a crash can lose or truncate recent
// objects; use it only for throwaway stores.
package diskstore
