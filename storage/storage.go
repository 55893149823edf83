package storage

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// Store is a flat namespace of immutable-once-written objects addressed by
// slash-separated keys. Implementations must be safe for concurrent use.
//
// Keys follow [fs.ValidPath] (no leading or trailing slash, no empty, "." or
// ".." elements) and are checked by [ValidKey]; a method given a bad key
// returns an error matching [ErrInvalidKey] and touches nothing.
type Store interface {
	// Get opens the object at key for reading. The returned [Reader] also
	// supports random access ([io.ReaderAt]) through range reads, so that a
	// ZIP held in the store can be opened without downloading it.
	// A missing key returns an error matching [ErrNotExist].
	Get(ctx context.Context, key string) (Reader, error)

	// Put stores everything read from r under key. The write is atomic:
	// readers see the previous object or the whole new one, never a prefix.
	// If r returns an error, or ctx is cancelled before r has been read to
	// its end, nothing is left behind and the previous object (if any) is
	// unchanged. Once r is read, the commit is not interrupted by ctx: a
	// put that stored its object reports success and is never undone (see
	// [Portable.Put]). An error matching [ErrUnknownOutcome] means the
	// object may or may not be stored.
	//
	// With opts.IfNotExist set, of any number of concurrent creators of one
	// key exactly one succeeds; the others get an error matching [ErrExist]
	// and the stored bytes are the winner's.
	Put(ctx context.Context, key string, r io.Reader, opts *PutOptions) error

	// Stat returns information about the object at key. A missing key
	// returns an error matching [ErrNotExist].
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// List returns one page of the objects whose keys start with
	// opts.Prefix, in lexical key order. With opts.Delimiter set to "/",
	// keys that contain a "/" after the prefix are rolled up into
	// [ListPage.Prefixes] (one entry per "directory", ending in "/").
	// opts.PageToken continues a listing; use [All] or [Pages] to iterate
	// over every page. A bad prefix or delimiter returns an error matching
	// [ErrInvalidKey]. Keys and prefixes are compared as byte strings.
	List(ctx context.Context, opts *ListOptions) (*ListPage, error)

	// Delete removes the object at key. Deleting a missing key is not an
	// error (Delete is idempotent).
	Delete(ctx context.Context, key string) error
}

// Reader reads one stored object, sequentially or at random offsets.
// Close releases its resources; ReadAt may be called concurrently.
type Reader interface {
	io.ReadCloser
	io.ReaderAt
	// Size is the object's size in bytes.
	Size() int64
}

// PutOptions controls [Store.Put]. A nil *PutOptions is the zero value.
type PutOptions struct {
	// IfNotExist makes the put fail with [ErrExist] if key already exists.
	IfNotExist bool
	// ContentType is stored where the backend supports it.
	ContentType string
}

// ListOptions controls [Store.List]. A nil *ListOptions lists everything.
type ListOptions struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// Delimiter, if "/", groups keys by the next path element after Prefix.
	// Any other non-empty value is an error.
	Delimiter string
	// PageToken continues a listing from a previous [ListPage.NextPageToken].
	// Tokens are opaque and specific to one store and one set of options.
	PageToken string
	// PageSize is the maximum number of entries (objects plus prefixes) in
	// one page; zero, or more than 1000, means 1000. A page may hold fewer
	// entries, even none, and still have a NextPageToken.
	PageSize int
}

// ListPage is one page of a listing.
type ListPage struct {
	// Objects are the objects in lexical key order.
	Objects []ObjectInfo
	// Prefixes are the rolled-up "directories" when a delimiter was given,
	// each ending in the delimiter, in lexical order.
	Prefixes []string
	// NextPageToken is empty on the last page.
	NextPageToken string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key.
	Key string
	// Size is the object's size in bytes.
	Size int64
	// ModTime is when the object was last written, as the backend
	// reports it (object stores may round it to the second).
	ModTime time.Time
}

// Sentinel errors. ErrNotExist and ErrExist are the io/fs ones, so that
// callers can use either package's names with [errors.Is].
var (
	ErrNotExist = fs.ErrNotExist
	ErrExist    = fs.ErrExist
	// ErrInvalidKey is returned for keys that are not [fs.ValidPath].
	ErrInvalidKey = fs.ErrInvalid
)
