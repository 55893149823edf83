package modelpkg

import (
	"context"
	"io"
)

// Destination receives the files of a package during extraction. The
// extractor calls WriteFile once per file, possibly from several goroutines
// at once, so implementations must be safe for concurrent use.
//
// The storage-backed destination lives in the registry package (modelpkg
// and storage never import each other); [DirDestination] writes to a local
// directory.
type Destination interface {
	// WriteFile stores the contents of r under name, a canonical
	// slash-separated relative path (it satisfies fs.ValidPath). It must
	// read r to io.EOF and return nil, or return an error; an error from r
	// must be returned (wrapped or not) and must leave no file behind.
	WriteFile(ctx context.Context, name string, r io.Reader) error

	// Abort removes everything this destination has written so far,
	// including directories it created. The extractor calls it once after
	// any failure; it must be safe to call even if nothing was written.
	Abort(ctx context.Context) error
}
