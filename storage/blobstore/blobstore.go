package blobstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/modelvault/modelvault/storage"
)

// ErrConflict matches the error of a put that the server refused because
// of a concurrent conditional write to the same key (S3's 409
// ConditionalRequestConflict) when retrying did not settle it. It is
// [storage.ErrConflict].
var ErrConflict = storage.ErrConflict

// Options configures [New] and [Open]. A nil *Options is the zero value.
type Options struct {
	// ConflictRetries is how many times Put retries after the server
	// reports a conflicting concurrent conditional write, or after an
	// unknown outcome that reading back showed did not land. Zero means
	// 4; negative means none.
	ConflictRetries int
	// ConflictBackoff is the first wait before such a retry; it doubles
	// with each retry, up to one second. Zero means 50ms.
	ConflictBackoff time.Duration
	// CommitTimeout bounds the end of an upload once all its data has
	// been read (the last parts and the commit request), which runs
	// detached from the caller's context, and the read back that
	// resolves an unknown outcome. Zero means two minutes.
	CommitTimeout time.Duration
	// UploadBufferSize and UploadConcurrency set the part size and the
	// number of parts in flight of one put, where the driver uploads in
	// parts (blob.WriterOptions.BufferSize and MaxConcurrency). A put
	// buffers about their product in memory. Zero means the driver's
	// default (s3blob: 5 parts of 8 MiB).
	UploadBufferSize, UploadConcurrency int
}

// Store is a [storage.Store] over a [blob.Bucket]. Its checks and write
// contract are [storage.Portable]'s; the methods below document what the
// bucket adds.
type Store struct {
	p *storage.Portable
	d *driver
}

// driver is the [storage.Driver] over the bucket.
type driver struct {
	b       *blob.Bucket
	bufSize int
	conc    int
	// upload is b.Upload; tests replace it to inject faults.
	upload func(ctx context.Context, key string, r io.Reader, opts *blob.WriterOptions) error
}

var _ storage.Store = (*Store)(nil)

// New returns a store over b. Closing the store closes b.
func New(b *blob.Bucket, opts *Options) *Store {
	if opts == nil {
		opts = &Options{}
	}
	d := &driver{
		b:       b,
		bufSize: max(opts.UploadBufferSize, 0),
		conc:    max(opts.UploadConcurrency, 0),
		upload:  b.Upload,
	}
	p := storage.NewPortable(d, &storage.PortableOptions{
		ConflictRetries: opts.ConflictRetries,
		ConflictBackoff: opts.ConflictBackoff,
		CommitTimeout:   opts.CommitTimeout,
		// SDKs retry a conditional PUT whose response was lost; the
		// retry is refused because of the put's own object.
		ExistMayBeOwn: true,
	})
	return &Store{p: p, d: d}
}

// Open opens the bucket at urlstr with [blob.OpenBucket] and returns a
// store over it. The URL's scheme must have a registered driver (see the
// package documentation).
func Open(ctx context.Context, urlstr string, opts *Options) (*Store, error) {
	b, err := blob.OpenBucket(ctx, urlstr)
	if err != nil {
		return nil, err
	}
	return New(b, opts), nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.d.b.Close() }

// Bucket returns the underlying bucket, for what the Store does not do.
func (s *Store) Bucket() *blob.Bucket { return s.d.b }

// Get opens the object at key. The returned Reader also implements
// [io.WriterTo]; its ReadAt makes one ranged request per call.
func (s *Store) Get(ctx context.Context, key string) (storage.Reader, error) {
	return s.p.Get(ctx, key)
}

// Stat returns the size and modification time of the object at key.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return s.p.Stat(ctx, key)
}

// List lists objects in lexical key order. Page tokens are the bucket's
// own, encoded as text.
func (s *Store) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	return s.p.List(ctx, opts)
}

// Delete removes the object at key. Deleting a missing key succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.p.Delete(ctx, key)
}

// Put uploads r to key with [blob.Bucket.Upload]. The object appears only
// when the upload completes; an upload that fails, or whose context ends
// before all of r is read, leaves nothing. See the package documentation
// for IfNotExist, unknown outcomes and conflicts.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.p.Put(ctx, key, r, opts)
}

// sentinelError matches a storage sentinel and keeps the driver's error in
// the chain, with the sentinel's short message.
type sentinelError struct {
	sentinel, cause error
}

func (e *sentinelError) Error() string   { return e.sentinel.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.sentinel, e.cause} }

func pathErr(op, key string, err error) error {
	return &fs.PathError{Op: op, Path: key, Err: err}
}

// mapErr maps gocloud error codes to storage's sentinels. For a put, S3's
// 409 conflict becomes [storage.ErrConflict], and an error without a
// definite answer from the server (a transport error, such as a reset
// connection, or a timeout) becomes [storage.ErrUnknownOutcome].
func mapErr(op, key string, err error, ifNotExist bool) error {
	switch code := gcerrors.Code(err); {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
	case code == gcerrors.NotFound && op != "put":
		err = &sentinelError{storage.ErrNotExist, err}
	case ifNotExist && (code == gcerrors.FailedPrecondition || code == gcerrors.AlreadyExists):
		err = &sentinelError{storage.ErrExist, err}
	case op == "put" && isConflict(err):
		err = &sentinelError{storage.ErrConflict, err}
	case op == "put" && outcomeUnknown(err):
		err = &sentinelError{storage.ErrUnknownOutcome, err}
	}
	return pathErr(op, key, err)
}

func (s *driver) Get(ctx context.Context, key string) (storage.Reader, error) {
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, mapErr("get", key, err, false)
	}
	return &reader{ctx: ctx, s: s, key: key, r: r, size: r.Size()}, nil
}

type reader struct {
	ctx  context.Context
	s    *driver
	key  string
	r    *blob.Reader
	size int64
}

func (r *reader) Read(p []byte) (int, error)         { return r.r.Read(p) }
func (r *reader) WriteTo(w io.Writer) (int64, error) { return r.r.WriteTo(w) }
func (r *reader) Close() error                       { return r.r.Close() }
func (r *reader) Size() int64                        { return r.size }

// ReadAt reads len(p) bytes at off with one ranged request.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, pathErr("read", r.key, fs.ErrInvalid)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.size-off)
	if n == 0 {
		return 0, nil
	}
	rr, err := r.s.b.NewRangeReader(r.ctx, r.key, off, n, nil)
	if err != nil {
		return 0, mapErr("read", r.key, err, false)
	}
	defer rr.Close()
	got, err := io.ReadFull(rr, p[:n])
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = io.ErrUnexpectedEOF // the object shrank under us
		}
		return got, pathErr("read", r.key, err)
	}
	if int(n) < len(p) {
		return got, io.EOF
	}
	return got, nil
}

func (s *driver) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, mapErr("stat", key, err, false)
	}
	return storage.ObjectInfo{Key: key, Size: a.Size, ModTime: a.ModTime}, nil
}

func (s *driver) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	cur, err := decodeToken(opts.PageToken)
	if err != nil {
		return nil, pathErr("list", opts.Prefix, &tokenError{err})
	}
	objs, next, err := s.b.ListPage(ctx, cur.token, opts.PageSize, &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
	if err != nil {
		return nil, mapErr("list", opts.Prefix, err, false)
	}
	page := &storage.ListPage{}
	for _, o := range objs {
		// Some servers (fake-gcs-server) repeat a rolled-up prefix on
		// later pages: objects and prefixes that do not sort after the
		// last one returned are dropped.
		if o.IsDir {
			if o.Key <= cur.lastPrefix {
				continue
			}
			cur.lastPrefix = o.Key
			if strings.HasSuffix(o.Key, "/") && storage.ValidPrefix(o.Key) == nil {
				page.Prefixes = append(page.Prefixes, o.Key)
			}
			continue
		}
		if o.Key <= cur.lastKey {
			continue
		}
		cur.lastKey = o.Key
		if storage.ValidKey(o.Key) != nil {
			continue
		}
		page.Objects = append(page.Objects, storage.ObjectInfo{Key: o.Key, Size: o.Size, ModTime: o.ModTime})
	}
	if len(next) > 0 {
		cur.token = next
		page.NextPageToken = cur.encode()
	}
	return page, nil
}

// pageToken is the state of a listing between pages: the last key and
// the last prefix returned (neither contains NUL) and the bucket's own
// token.
type pageToken struct {
	lastKey, lastPrefix string
	token               []byte
}

func (t pageToken) encode() string {
	b := append([]byte(t.lastKey+"\x00"+t.lastPrefix+"\x00"), t.token...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	if s == "" {
		return pageToken{token: blob.FirstPageToken}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, err
	}
	parts := bytes.SplitN(b, []byte{0}, 3)
	if len(parts) != 3 || len(parts[2]) == 0 {
		return pageToken{}, errors.New("malformed")
	}
	return pageToken{lastKey: string(parts[0]), lastPrefix: string(parts[1]), token: parts[2]}, nil
}

type tokenError struct{ err error }

func (e *tokenError) Error() string { return "invalid page token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return fs.ErrInvalid }

func (s *driver) Delete(ctx context.Context, key string) error {
	err := s.b.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return mapErr("delete", key, err, false)
	}
	return nil
}

// defaultContentType is stored when PutOptions.ContentType is empty, so
// that gocloud does not sniff (and the put does not depend on) the data.
const defaultContentType = "application/octet-stream"

// tagKey is the metadata key of the put tag (Azure needs an identifier).
const tagKey = "mvputid"

var _ storage.TagDriver = (*driver)(nil)

// Put makes one upload. The portable layer retries, resolves and
// detaches it.
func (s *driver) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	return s.PutTagged(ctx, key, r, opts, "")
}

// PutTagged is Put, storing tag as the object's metadata.
func (s *driver) PutTagged(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions, tag string) error {
	wopts := &blob.WriterOptions{
		ContentType:    opts.ContentType,
		IfNotExist:     opts.IfNotExist,
		BufferSize:     s.bufSize,
		MaxConcurrency: s.conc,
	}
	if wopts.ContentType == "" {
		wopts.ContentType = defaultContentType
	}
	if tag != "" {
		wopts.Metadata = map[string]string{tagKey: tag}
	}
	if err := s.uploadOnce(ctx, key, r, wopts); err != nil {
		if errors.Is(err, errReader) {
			return pathErr("put", key, err)
		}
		return mapErr("put", key, err, opts.IfNotExist)
	}
	return nil
}

// Tag returns the put tag stored with the object at key, or "".
func (s *driver) Tag(ctx context.Context, key string) (string, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return "", mapErr("stat", key, err, false)
	}
	return a.Metadata[tagKey], nil
}

// outcomeUnknown reports whether a failed put may nevertheless have
// stored its object: the server gave no definite answer (a transport
// error, such as a connection reset while the body was being sent).
func outcomeUnknown(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.Unknown, gcerrors.Internal, gcerrors.DeadlineExceeded:
		return !isConflict(err)
	}
	return false
}

// isConflict reports whether err is S3's 409 ConditionalRequestConflict,
// which gocloud reports as Unknown. It looks for the AWS error code
// without importing the AWS SDK.
func isConflict(err error) bool {
	if gcerrors.Code(err) != gcerrors.Unknown {
		return false
	}
	const code = "ConditionalRequestConflict"
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && coded.ErrorCode() == code {
		return true
	}
	return strings.Contains(err.Error(), code)
}

// errReader marks an error returned by the put's reader.
var errReader = errors.New("reading the object")

// uploadOnce uploads r. If r fails, it cancels the upload's context before
// the driver commits: gocloud drivers (memblob among them) otherwise
// commit whatever was read so far when the writer is closed.
func (s *driver) uploadOnce(ctx context.Context, key string, r io.Reader, wopts *blob.WriterOptions) error {
	uctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	gr := &guardReader{ctx: uctx, cancel: cancel, r: r}
	err := s.upload(uctx, key, gr, wopts)
	if rerr := gr.readErr(); rerr != nil {
		return fmt.Errorf("%w: %w", errReader, rerr)
	}
	return err
}

// guardReader fails reads once ctx is done, so that a put whose context
// is cancelled stops even if the driver keeps reading, and cancels ctx
// when the underlying reader fails.
type guardReader struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	r      io.Reader

	mu  sync.Mutex // drivers may read from another goroutine
	err error      // the reader's error, if any
}

func (g *guardReader) readErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *guardReader) Read(p []byte) (int, error) {
	if err := context.Cause(g.ctx); err != nil {
		return 0, err
	}
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		g.mu.Lock()
		g.err = err
		g.mu.Unlock()
		g.cancel(err)
	}
	return n, err
}
