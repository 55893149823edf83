package registry

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"

	"github.com/modelvault/modelvault/storage"
)

// errRecorder is a read-only view of a store that remembers the first
// failure of the store itself (anything but a missing key, or the end of
// an object). Validators turn read errors into findings; the registry
// uses the recorded failure to tell "this package is invalid" from "the
// store could not be read", so that a transient fault never marks a
// valid package invalid.
type errRecorder struct {
	storage.Store
	mu  sync.Mutex
	err error
}

func (e *errRecorder) record(err error) error {
	if err != nil && !errors.Is(err, fs.ErrNotExist) && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return err
}

// failure returns the first recorded failure.
func (e *errRecorder) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *errRecorder) Get(ctx context.Context, key string) (storage.Reader, error) {
	r, err := e.Store.Get(ctx, key)
	if err != nil {
		return nil, e.record(err)
	}
	return &recordingReader{Reader: r, e: e}, nil
}

func (e *errRecorder) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := e.Store.Stat(ctx, key)
	return info, e.record(err)
}

func (e *errRecorder) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	page, err := e.Store.List(ctx, opts)
	return page, e.record(err)
}

type recordingReader struct {
	storage.Reader
	e *errRecorder
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	return n, r.e.record(err)
}

func (r *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	return n, r.e.record(err)
}
