package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/modelvault/modelvault/storage"
)

// Options tunes [RunOptions] for slow or special backends. A nil *Options
// or a zero field means the default. With go test -short, the defaults
// shrink (fewer race rounds, a 16 MiB round trip).
type Options struct {
	// Racers is the number of goroutines that race to create one key in
	// the concurrent IfNotExist subtest. Default 32.
	Racers int
	// RaceRounds is the number of keys they race for. Default 100 (10
	// with -short).
	RaceRounds int
	// ListKeys is the number of keys written for the pagination subtest.
	// Default 2100; fewer than 1001 is raised to 1001 so that listing
	// needs more than one default page.
	ListKeys int
	// LargeSize is the size of the streaming round trip. Default 256 MiB
	// (16 MiB with -short); negative skips the subtest.
	LargeSize int64
	// MaxHeapGrowth bounds how much the Go heap may grow while the large
	// object is written and read back. Default 64 MiB. Negative turns the
	// check off, for stores that keep their objects in the Go heap.
	MaxHeapGrowth int64
	// LaxDelimiterPageSize lets pages of a listing with a delimiter hold
	// more entries than PageSize. fake-gcs-server needs it: it does not
	// count rolled-up prefixes against maxResults as GCS does.
	LaxDelimiterPageSize bool
	// ModTimeSlack is how far a stored object's modification time may be
	// from the time of the put. Default 2 s plus one-second rounding.
	ModTimeSlack time.Duration
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.Racers <= 0 {
		d.Racers = 32
	}
	if d.RaceRounds <= 0 {
		d.RaceRounds = 100
		if testing.Short() {
			d.RaceRounds = 10
		}
	}
	if d.ListKeys <= 0 {
		d.ListKeys = 2100
	}
	d.ListKeys = max(d.ListKeys, 1001)
	if d.LargeSize == 0 {
		d.LargeSize = 256 << 20
		if testing.Short() {
			d.LargeSize = 16 << 20
		}
	}
	if d.MaxHeapGrowth == 0 {
		d.MaxHeapGrowth = 64 << 20
	}
	if d.ModTimeSlack <= 0 {
		d.ModTimeSlack = 2 * time.Second
	}
	return d
}

// Run runs the conformance suite with default options. newStore must
// return a new, empty store and register its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	RunOptions(t, newStore, nil)
}

// RunOptions runs the conformance suite, tuned by opts (which may be nil).
func RunOptions(t *testing.T, newStore func(t *testing.T) storage.Store, opts *Options) {
	o := opts.withDefaults()
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, o Options)
	}{
		{"NotExist", testNotExist},
		{"PutGet", testPutGet},
		{"Overwrite", testOverwrite},
		{"FailingReaderLeavesNothing", testFailingReader},
		{"PutIsAtomicForReaders", testAtomicVisibility},
		{"IfNotExistSequential", testIfNotExistSequential},
		{"IfNotExistConcurrent", testIfNotExistConcurrent},
		{"IfNotExistConcurrentLarge", testIfNotExistConcurrentLarge},
		{"ListOrder", testListOrder},
		{"ListDelimiter", testListDelimiter},
		{"ListPagination", testListPagination},
		{"BadKeys", testBadKeys},
		{"ContextCancelled", testContextCancelled},
		{"LargeStreamingRoundTrip", testLarge},
		{"RangeReads", testRangeReads},
		{"DeleteIdempotent", testDelete},
		{"Stat", testStat},
		{"FS", testFS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			tc.fn(t, s, o)
		})
	}
}

// requirePathErr checks that err is an *fs.PathError for key matching target.
func requirePathErr(t *testing.T, err error, key string, target error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, target)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe, "error is not an *fs.PathError: %v", err)
	assert.Equal(t, key, pe.Path, "PathError.Path")
}

func put(t *testing.T, s storage.Store, key, data string) {
	t.Helper()
	require.NoError(t, storage.WriteAll(t.Context(), s, key, []byte(data), nil))
}

func get(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	b, err := storage.ReadAll(t.Context(), s, key)
	require.NoError(t, err)
	return string(b)
}

func requireMissing(t *testing.T, s storage.Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	requirePathErr(t, err, key, storage.ErrNotExist)
}

// keys lists every key in s.
func keys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var out []string
	for o, err := range storage.All(t.Context(), s, &storage.ListOptions{Prefix: prefix}) {
		require.NoError(t, err)
		out = append(out, o.Key)
	}
	return out
}

func testNotExist(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	for _, key := range []string{"missing", "dir/missing", "a/b/c/d"} {
		_, err := s.Get(ctx, key)
		requirePathErr(t, err, key, storage.ErrNotExist)
		_, err = s.Stat(ctx, key)
		requirePathErr(t, err, key, storage.ErrNotExist)
		require.NoError(t, s.Delete(ctx, key), "Delete of a missing key")
		ok, err := storage.Exists(ctx, s, key)
		require.NoError(t, err)
		require.False(t, ok)
	}
	page, err := s.List(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, page.Objects, "a new store must be empty")
	require.Empty(t, page.Prefixes)
	require.Empty(t, page.NextPageToken)

	// A key under an object is missing too.
	put(t, s, "file", "x")
	_, err = s.Stat(ctx, "file/child")
	requirePathErr(t, err, "file/child", storage.ErrNotExist)
	_, err = s.Get(ctx, "file/child")
	requirePathErr(t, err, "file/child", storage.ErrNotExist)
	// And a "directory" is not an object.
	put(t, s, "dir/obj", "x")
	_, err = s.Stat(ctx, "dir")
	requirePathErr(t, err, "dir", storage.ErrNotExist)
}

func testPutGet(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	cases := map[string]string{
		"a":                                "hello",
		"empty":                            "",
		"dir/sub/deep/file.txt":            "nested",
		"space and ünïcødé/名前 ✓.bin":       "unicode",
		"dots/..a/a..b/.hidden/x.":         "dots",
		"long/" + strings.Repeat("k", 250): "long element",
	}
	for key, data := range cases {
		require.NoError(t, s.Put(ctx, key, strings.NewReader(data), &storage.PutOptions{ContentType: "text/plain"}), key)
	}
	for key, data := range cases {
		r, err := s.Get(ctx, key)
		require.NoError(t, err, key)
		assert.Equal(t, int64(len(data)), r.Size(), key)
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		assert.Equal(t, data, string(b), key)
		info, err := s.Stat(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, key, info.Key)
		assert.Equal(t, int64(len(data)), info.Size, key)
	}
	want := slices.Sorted(func(yield func(string) bool) {
		for k := range cases {
			if !yield(k) {
				return
			}
		}
	})
	require.Equal(t, want, keys(t, s, ""))
}

func testOverwrite(t *testing.T, s storage.Store, _ Options) {
	put(t, s, "k", "first version, longer")
	put(t, s, "k", "second")
	require.Equal(t, "second", get(t, s, "k"))
	info, err := s.Stat(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, int64(6), info.Size)
	put(t, s, "k", "")
	require.Equal(t, "", get(t, s, "k"))
	require.Equal(t, []string{"k"}, keys(t, s, ""))
}

var errBoom = errors.New("storagetest: reader failed on purpose")

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBoom
	}
	n := min(len(p), f.n)
	for i := range p[:n] {
		p[i] = 'f'
	}
	f.n -= n
	return n, nil
}

func testFailingReader(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	put(t, s, "old", "old content")
	for _, n := range []int{0, 100, 3 << 20} {
		for _, opts := range []*storage.PutOptions{nil, {IfNotExist: true}} {
			err := s.Put(ctx, "old", &failingReader{n: n}, opts)
			require.Error(t, err, "Put with a failing reader must fail")
			require.Equal(t, "old content", get(t, s, "old"))

			err = s.Put(ctx, "new/key", &failingReader{n: n}, opts)
			require.Error(t, err)
			requireMissing(t, s, "new/key")
		}
	}
	require.Equal(t, []string{"old"}, keys(t, s, ""), "a failed put left something behind")
	// Nothing hidden is left behind either: the key can still be created.
	require.NoError(t, s.Put(ctx, "new/key", strings.NewReader("ok"), &storage.PutOptions{IfNotExist: true}))
}

// gateReader yields first, signals reached, waits for release, then
// yields rest.
type gateReader struct {
	first, rest io.Reader
	reached     chan struct{}
	release     chan struct{}
	once        sync.Once
}

func (g *gateReader) Read(p []byte) (int, error) {
	n, err := g.first.Read(p)
	if err != io.EOF {
		return n, err
	}
	g.once.Do(func() { close(g.reached) })
	<-g.release
	return g.rest.Read(p)
}

func testAtomicVisibility(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	oldData := bytes.Repeat([]byte("o"), 1<<20)
	newData := bytes.Repeat([]byte("n"), 3<<20)
	require.NoError(t, storage.WriteAll(ctx, s, "k", oldData, nil))

	g := &gateReader{
		first:   bytes.NewReader(newData[:len(newData)/2]),
		rest:    bytes.NewReader(newData[len(newData)/2:]),
		reached: make(chan struct{}),
		release: make(chan struct{}),
	}
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "k", g, nil) }()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("Put returned before reading all its input: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("Put did not read its input within a minute")
	}
	// Half the new object has been handed to Put: readers still see the
	// old one, whole, and no other key.
	b, err := storage.ReadAll(ctx, s, "k")
	require.NoError(t, err)
	require.True(t, bytes.Equal(oldData, b), "a reader saw a partial object (%d bytes)", len(b))
	require.Equal(t, []string{"k"}, keys(t, s, ""))
	close(g.release)
	require.NoError(t, <-done)
	b, err = storage.ReadAll(ctx, s, "k")
	require.NoError(t, err)
	require.True(t, bytes.Equal(newData, b), "got %d bytes after the put", len(b))
}

func testIfNotExistSequential(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	ine := &storage.PutOptions{IfNotExist: true}
	require.NoError(t, storage.WriteAll(ctx, s, "c/k", []byte("first"), ine))
	err := storage.WriteAll(ctx, s, "c/k", []byte("second"), ine)
	requirePathErr(t, err, "c/k", storage.ErrExist)
	require.Equal(t, "first", get(t, s, "c/k"))

	// Large enough to take the multipart path of S3-like backends.
	big := bytes.Repeat([]byte("b"), 9<<20)
	err = storage.WriteAll(ctx, s, "c/k", big, ine)
	requirePathErr(t, err, "c/k", storage.ErrExist)
	require.Equal(t, "first", get(t, s, "c/k"))

	// An unconditional put still overwrites.
	put(t, s, "c/k", "third")
	require.Equal(t, "third", get(t, s, "c/k"))
	// After a delete, the key can be created again.
	require.NoError(t, s.Delete(ctx, "c/k"))
	require.NoError(t, storage.WriteAll(ctx, s, "c/k", []byte("fourth"), ine))
	require.Equal(t, "fourth", get(t, s, "c/k"))
}

func testIfNotExistConcurrent(t *testing.T, s storage.Store, o Options) {
	start := time.Now()
	require.NoError(t, CheckConcurrentCreate(t.Context(), s, o.Racers, o.RaceRounds))
	t.Logf("%d rounds of %d racers in %v", o.RaceRounds, o.Racers, time.Since(start).Round(time.Millisecond))
}

func testIfNotExistConcurrentLarge(t *testing.T, s storage.Store, o Options) {
	if testing.Short() || o.LargeSize < 0 {
		t.Skip("large race skipped with -short or a negative LargeSize")
	}
	// 4 racers with 9 MiB each: large enough for multipart / resumable /
	// block-list uploads.
	require.NoError(t, checkConcurrentCreate(t.Context(), s, 4, 2, 9<<20))
}

// CheckConcurrentCreate races racers goroutines to create each of rounds
// new keys with [storage.PutOptions.IfNotExist], each writing different
// bytes, and returns an error unless, in every round, exactly one put
// succeeded, every other put failed with an error matching
// [storage.ErrExist], and the stored bytes are the winner's. It writes
// keys under "race/".
func CheckConcurrentCreate(ctx context.Context, s storage.Store, racers, rounds int) error {
	return checkConcurrentCreate(ctx, s, racers, rounds, 1<<10)
}

func checkConcurrentCreate(ctx context.Context, s storage.Store, racers, rounds, size int) error {
	if racers < 2 || rounds < 1 {
		return fmt.Errorf("need at least 2 racers and 1 round")
	}
	payload := func(round, racer int) []byte {
		b := bytes.Repeat([]byte{byte('A' + racer%26)}, size)
		copy(b, fmt.Sprintf("round %d racer %d;", round, racer))
		return b
	}
	errs := make([]error, racers)
	for round := range rounds {
		key := fmt.Sprintf("race/%d/key-%04d", size, round)
		startc := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			data := payload(round, i)
			wg.Go(func() {
				<-startc
				errs[i] = s.Put(ctx, key, bytes.NewReader(data), &storage.PutOptions{IfNotExist: true})
			})
		}
		close(startc)
		wg.Wait()
		winner := -1
		var winners []int
		for i, err := range errs {
			switch {
			case err == nil:
				winners = append(winners, i)
				winner = i
			case errors.Is(err, storage.ErrExist):
			default:
				return fmt.Errorf("round %d: racer %d: error not matching storage.ErrExist: %w", round, i, err)
			}
		}
		if len(winners) != 1 {
			return fmt.Errorf("round %d: %d winners %v, want exactly 1", round, len(winners), winners)
		}
		got, err := storage.ReadAll(ctx, s, key)
		if err != nil {
			return fmt.Errorf("round %d: reading the winner's object: %w", round, err)
		}
		if !bytes.Equal(got, payload(round, winner)) {
			return fmt.Errorf("round %d: stored bytes are not those of the winner, racer %d (got %.30q)", round, winner, got)
		}
	}
	return nil
}

// orderKeys are chosen so that a per-directory walk in name order gets
// them wrong: "/" sorts after "-" and "." but before "0".
var orderKeys = []string{
	"x/B", "x/a-b", "x/a.b", "x/a/b", "x/a/c/d", "x/a0", "x/b", "x/é", "y",
}

func testListOrder(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	for i, k := range slices.Backward(orderKeys) {
		put(t, s, k, strings.Repeat("z", i))
	}
	page, err := s.List(ctx, &storage.ListOptions{Prefix: "x/"})
	require.NoError(t, err)
	var got []string
	for _, o := range page.Objects {
		got = append(got, o.Key)
		assert.Equal(t, int64(slices.Index(orderKeys, o.Key)), o.Size, o.Key)
		assert.False(t, o.ModTime.IsZero(), o.Key)
	}
	require.Equal(t, orderKeys[:len(orderKeys)-1], got, "List order is not lexical byte order")
	require.Empty(t, page.Prefixes)
	require.Empty(t, page.NextPageToken)

	require.Equal(t, []string{"x/a-b", "x/a.b", "x/a/b", "x/a/c/d", "x/a0"}, keys(t, s, "x/a"))
	require.Equal(t, []string{"x/a/b", "x/a/c/d"}, keys(t, s, "x/a/"))
	require.Equal(t, orderKeys, keys(t, s, ""))
	require.Empty(t, keys(t, s, "nothing/"))
	require.Empty(t, keys(t, s, "x/a/b/"), "a prefix under an object")
}

func testListDelimiter(t *testing.T, s storage.Store, o Options) {
	ctx := t.Context()
	for _, k := range orderKeys {
		put(t, s, k, "v")
	}
	cases := []struct {
		prefix   string
		objects  []string
		prefixes []string
	}{
		{"", []string{"y"}, []string{"x/"}},
		{"x/", []string{"x/B", "x/a-b", "x/a.b", "x/a0", "x/b", "x/é"}, []string{"x/a/"}},
		{"x/a", []string{"x/a-b", "x/a.b", "x/a0"}, []string{"x/a/"}},
		{"x/a/", []string{"x/a/b"}, []string{"x/a/c/"}},
		{"x/a/c/", []string{"x/a/c/d"}, nil},
		{"z", nil, nil},
	}
	for _, c := range cases {
		page, err := s.List(ctx, &storage.ListOptions{Prefix: c.prefix, Delimiter: "/"})
		require.NoError(t, err, c.prefix)
		var objs []string
		for _, o := range page.Objects {
			objs = append(objs, o.Key)
		}
		assert.Equal(t, c.objects, objs, "objects for prefix %q", c.prefix)
		assert.Equal(t, c.prefixes, nilIfEmpty(page.Prefixes), "prefixes for prefix %q", c.prefix)
		assert.Empty(t, page.NextPageToken)

		// The same listing one entry per page.
		var pObjs, pPrefixes []string
		for page, err := range storage.Pages(ctx, s, &storage.ListOptions{Prefix: c.prefix, Delimiter: "/", PageSize: 1}) {
			require.NoError(t, err)
			if !o.LaxDelimiterPageSize {
				require.LessOrEqual(t, len(page.Objects)+len(page.Prefixes), 1, "page size 1")
			}
			for _, o := range page.Objects {
				pObjs = append(pObjs, o.Key)
			}
			pPrefixes = append(pPrefixes, page.Prefixes...)
		}
		assert.Equal(t, c.objects, pObjs, "paged objects for prefix %q", c.prefix)
		assert.Equal(t, c.prefixes, pPrefixes, "paged prefixes for prefix %q", c.prefix)
	}
	_, err := s.List(ctx, &storage.ListOptions{Delimiter: ","})
	require.ErrorIs(t, err, storage.ErrInvalidKey, "a delimiter other than /")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testListPagination(t *testing.T, s storage.Store, o Options) {
	ctx := t.Context()
	n := o.ListKeys
	want := make([]string, 0, n)
	for i := range n {
		// Spread over directories so that a file system backend has to
		// walk several of them.
		want = append(want, fmt.Sprintf("p/%d/%05d", i%7, i))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, k := range want {
		g.Go(func() error { return storage.WriteAll(gctx, s, k, []byte(k), nil) })
	}
	require.NoError(t, g.Wait())
	put(t, s, "q", "outside the prefix")
	slices.Sort(want)

	for _, size := range []int{0, 1000, 333} {
		var got []string
		pages := 0
		for page, err := range storage.Pages(ctx, s, &storage.ListOptions{Prefix: "p/", PageSize: size}) {
			require.NoError(t, err)
			pages++
			limit := size
			if limit == 0 {
				limit = 1000
			}
			require.LessOrEqual(t, len(page.Objects), limit)
			require.Empty(t, page.Prefixes)
			for _, o := range page.Objects {
				got = append(got, o.Key)
			}
		}
		require.Equal(t, want, got, "page size %d", size)
		if size > 0 {
			require.GreaterOrEqual(t, pages, (n+size-1)/size, "page size %d", size)
		}
	}
	// Continue from a token by hand.
	page, err := s.List(ctx, &storage.ListOptions{Prefix: "p/", PageSize: 10})
	require.NoError(t, err)
	require.Len(t, page.Objects, 10)
	require.NotEmpty(t, page.NextPageToken)
	page2, err := s.List(ctx, &storage.ListOptions{Prefix: "p/", PageSize: 10, PageToken: page.NextPageToken})
	require.NoError(t, err)
	require.Len(t, page2.Objects, 10)
	require.Equal(t, want[10], page2.Objects[0].Key)

	// Deleting a prefix deletes exactly that.
	require.NoError(t, storage.DeletePrefix(ctx, s, "p/3/"))
	for _, k := range keys(t, s, "") {
		require.False(t, strings.HasPrefix(k, "p/3/"), k)
	}
	require.NoError(t, storage.DeletePrefix(ctx, s, "p/"))
	require.Equal(t, []string{"q"}, keys(t, s, ""))
}

// BadKeys returns keys every store must reject with [storage.ErrInvalidKey].
func BadKeys() []string {
	return []string{
		"", ".", "..", "/", "/a", "a/", "../x", "a/../b", "a/..", "a//b", "a/./b", "./a",
		"a\x00b", "a\\b", "..\\x", "a\nb", "a\x7fb", "\xff", strings.Repeat("k", 1025),
		strings.Repeat("e", 256), storage.ReservedPrefix + "x", "d/" + storage.ReservedPrefix + "y",
	}
}

func testBadKeys(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	for _, key := range BadKeys() {
		err := storage.WriteAll(ctx, s, key, []byte("x"), nil)
		requirePathErr(t, err, key, storage.ErrInvalidKey)
		err = storage.WriteAll(ctx, s, key, []byte("x"), &storage.PutOptions{IfNotExist: true})
		requirePathErr(t, err, key, storage.ErrInvalidKey)
		_, err = s.Get(ctx, key)
		requirePathErr(t, err, key, storage.ErrInvalidKey)
		_, err = s.Stat(ctx, key)
		requirePathErr(t, err, key, storage.ErrInvalidKey)
		err = s.Delete(ctx, key)
		requirePathErr(t, err, key, storage.ErrInvalidKey)
		require.Error(t, storage.ValidKey(key))
	}
	for _, prefix := range []string{"/", "/a", "../", "a//", "a/./", "\x00", "a\\"} {
		_, err := s.List(ctx, &storage.ListOptions{Prefix: prefix})
		require.ErrorIs(t, err, storage.ErrInvalidKey, "prefix %q", prefix)
	}
	require.Empty(t, keys(t, s, ""), "a rejected key left something behind")
}

// cancelReader cancels its context after yielding n bytes, then keeps
// yielding data.
type cancelReader struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n := min(len(p), 64<<10)
	c.n -= n
	clear(p[:n])
	return n, nil
}

func testContextCancelled(t *testing.T, s storage.Store, _ Options) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Put(ctx, "k", strings.NewReader("data"), nil)
	require.Error(t, err, "Put with a cancelled context")
	err = s.Put(ctx, "k", strings.NewReader("data"), &storage.PutOptions{IfNotExist: true})
	require.Error(t, err, "Put with a cancelled context")
	requireMissing(t, s, "k")

	// Cancelled midway: the reader keeps producing data (it would never
	// end), so only the context can stop the put.
	put(t, s, "old", "old")
	for _, opts := range []*storage.PutOptions{nil, {IfNotExist: true}} {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		err := s.Put(ctx, "mid", &cancelReader{n: 1 << 20, cancel: cancel}, opts)
		require.Error(t, err)
		cancel()
		requireMissing(t, s, "mid")
		ctx, cancel = context.WithTimeout(t.Context(), 2*time.Minute)
		err = s.Put(ctx, "old", &cancelReader{n: 1 << 20, cancel: cancel}, opts)
		require.Error(t, err)
		cancel()
		require.Equal(t, "old", get(t, s, "old"))
	}
	require.Equal(t, []string{"old"}, keys(t, s, ""))
}

// patternReader yields size deterministic bytes: a random 64 KiB block,
// repeated, with the block number written into the first 8 bytes of each
// copy, so that a dropped, repeated or reordered block changes the hash.
type patternReader struct {
	block []byte
	size  int64
	off   int64
}

func newPatternReader(size int64, seed uint64) *patternReader {
	block := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(block)
	return &patternReader{block: block, size: size}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	total := 0
	for len(p) > 0 {
		bs := int64(len(r.block))
		within := r.off % bs
		n := copy(p, r.block[within:])
		if within < 8 {
			var hdr [8]byte
			binary.LittleEndian.PutUint64(hdr[:], uint64(r.off/bs))
			copy(p[:n], hdr[within:])
		}
		p = p[n:]
		r.off += int64(n)
		total += n
	}
	return total, nil
}

// heapSampler records the peak of the live-or-unswept Go heap.
type heapSampler struct {
	stop chan struct{}
	done chan int64
}

func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		peak := heapBytes()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				h.done <- max(peak, heapBytes())
				return
			case <-tick.C:
				peak = max(peak, heapBytes())
			}
		}
	}()
	return h
}

func (h *heapSampler) peak() int64 {
	close(h.stop)
	return <-h.done
}

func testLarge(t *testing.T, s storage.Store, o Options) {
	if o.LargeSize < 0 {
		t.Skip("LargeSize < 0")
	}
	ctx := t.Context()
	size := o.LargeSize
	// Keep the heap close to the live data, so that the measurement
	// below says what the store holds rather than when the GC ran.
	if o.MaxHeapGrowth > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(10))
	}
	runtime.GC()
	base := heapBytes()
	sampler := startHeapSampler()

	h := sha256.New()
	src := io.TeeReader(newPatternReader(size, 1), h)
	start := time.Now()
	require.NoError(t, s.Put(ctx, "large/object", src, nil))
	putDur := time.Since(start)
	want := h.Sum(nil)

	info, err := s.Stat(ctx, "large/object")
	require.NoError(t, err)
	require.Equal(t, size, info.Size)

	start = time.Now()
	r, err := s.Get(ctx, "large/object")
	require.NoError(t, err)
	require.Equal(t, size, r.Size())
	h.Reset()
	n, err := io.Copy(h, r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	getDur := time.Since(start)
	peak := sampler.peak()
	require.Equal(t, size, n)
	require.Equal(t, want, h.Sum(nil), "SHA-256 of the object read back")

	mib := float64(size) / (1 << 20)
	growth := peak - base
	t.Logf("%.0f MiB: put %.0f MiB/s, get %.0f MiB/s, peak heap growth %.1f MiB",
		mib, mib/putDur.Seconds(), mib/getDur.Seconds(), float64(growth)/(1<<20))
	if o.MaxHeapGrowth > 0 {
		require.LessOrEqual(t, growth, o.MaxHeapGrowth,
			"the heap grew by %d MiB while streaming %d MiB", growth>>20, size>>20)
	}
	require.NoError(t, s.Delete(ctx, "large/object"))
}

func testRangeReads(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	const size = 1<<20 + 123
	data, err := io.ReadAll(newPatternReader(size, 2))
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, s, "r/obj", data, nil))

	r, err := s.Get(ctx, "r/obj")
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, int64(size), r.Size())

	for _, c := range []struct{ off, n int }{
		{0, 1}, {0, 100}, {1, 4095}, {4095, 2}, {65535, 65538}, {size / 2, 1000},
		{size - 10, 10}, {size - 1, 1}, {0, size},
	} {
		p := make([]byte, c.n)
		n, err := r.ReadAt(p, int64(c.off))
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "ReadAt(%d, %d)", c.off, c.n)
			require.Equal(t, size, c.off+c.n, "io.EOF only at the end")
		}
		require.Equal(t, c.n, n, "ReadAt(%d, %d)", c.off, c.n)
		require.True(t, bytes.Equal(data[c.off:c.off+c.n], p), "ReadAt(%d, %d) bytes", c.off, c.n)
	}
	// Past the end: short read with io.EOF.
	p := make([]byte, 100)
	n, err := r.ReadAt(p, size-40)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 40, n)
	require.True(t, bytes.Equal(data[size-40:], p[:40]))
	n, err = r.ReadAt(p, size)
	require.ErrorIs(t, err, io.EOF)
	require.Zero(t, n)
	n, err = r.ReadAt(p, size+1000)
	require.ErrorIs(t, err, io.EOF)
	require.Zero(t, n)

	// ReadAt does not move the Read position.
	head := make([]byte, 10)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	_, err = r.ReadAt(make([]byte, 50), 5000)
	require.NoError(t, err)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data[10:20], head), "Read after ReadAt")

	// Concurrent ReadAt on one Reader.
	var g errgroup.Group
	for w := range 8 {
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 16 {
				off := rng.IntN(size)
				n := min(rng.IntN(200<<10)+1, size-off)
				p := make([]byte, n)
				got, err := r.ReadAt(p, int64(off))
				if err != nil && !(err == io.EOF && off+n == size) {
					return fmt.Errorf("ReadAt(%d, %d): %w", off, n, err)
				}
				if got != n || !bytes.Equal(p, data[off:off+n]) {
					return fmt.Errorf("ReadAt(%d, %d): wrong bytes", off, n)
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

func testDelete(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	put(t, s, "d/a/x", "x")
	put(t, s, "d/a/y", "y")
	put(t, s, "d/b", "b")
	require.NoError(t, s.Delete(ctx, "d/a/x"))
	require.NoError(t, s.Delete(ctx, "d/a/x"))
	requireMissing(t, s, "d/a/x")
	require.Equal(t, []string{"d/a/y", "d/b"}, keys(t, s, ""))
	require.NoError(t, s.Delete(ctx, "d/a/y"))
	require.Equal(t, []string{"d/b"}, keys(t, s, ""))
	page, err := s.List(ctx, &storage.ListOptions{Prefix: "d/", Delimiter: "/"})
	require.NoError(t, err)
	require.Empty(t, page.Prefixes, "an emptied directory is still listed")
	require.NoError(t, s.Delete(ctx, "d"), "Delete of a \"directory\" that is no object")
	require.Equal(t, "b", get(t, s, "d/b"))
	// A deleted key can be put again, also below the emptied directory.
	put(t, s, "d/a/x", "x2")
	require.Equal(t, "x2", get(t, s, "d/a/x"))
}

func testStat(t *testing.T, s storage.Store, o Options) {
	ctx := t.Context()
	before := time.Now().Truncate(time.Second).Add(-o.ModTimeSlack)
	put(t, s, "s/k", "12345")
	after := time.Now().Add(o.ModTimeSlack)
	info, err := s.Stat(ctx, "s/k")
	require.NoError(t, err)
	require.Equal(t, "s/k", info.Key)
	require.Equal(t, int64(5), info.Size)
	require.False(t, info.ModTime.Before(before), "ModTime %v before the put (%v)", info.ModTime, before)
	require.False(t, info.ModTime.After(after), "ModTime %v after the put (%v)", info.ModTime, after)
	page, err := s.List(ctx, &storage.ListOptions{Prefix: "s/"})
	require.NoError(t, err)
	require.Len(t, page.Objects, 1)
	require.Equal(t, info.Size, page.Objects[0].Size)
	require.WithinDuration(t, info.ModTime, page.Objects[0].ModTime, time.Second, "List and Stat disagree on ModTime")
}

func testFS(t *testing.T, s storage.Store, _ Options) {
	ctx := t.Context()
	files := map[string]string{
		"a.txt":       "alpha",
		"d/b.txt":     "bravo",
		"d/e/c.bin":   "charlie",
		"d/e/f/g":     "golf",
		"d-sibling/h": "hotel",
		"z":           "",
	}
	for name, data := range files {
		put(t, s, "root/"+name, data)
	}
	put(t, s, "outside", "not in the view")
	put(t, s, "rootless", "not in the view either")

	fsys := storage.FS(ctx, s, "root")
	require.NoError(t, fstest.TestFS(fsys, slices.Collect(mapsKeys(files))...))
	for name, data := range files {
		b, err := fs.ReadFile(fsys, name)
		require.NoError(t, err)
		require.Equal(t, data, string(b))
	}
	_, err := fs.Stat(fsys, "missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.Open("../outside")
	require.ErrorIs(t, err, fs.ErrInvalid)
	_, err = fs.ReadFile(fsys, "d")
	require.Error(t, err)

	whole := storage.FS(ctx, s, "")
	b, err := fs.ReadFile(whole, "outside")
	require.NoError(t, err)
	require.Equal(t, "not in the view", string(b))
	_, err = storage.FS(ctx, s, "../x").Open(".")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// SubDir is the directory of the views that [Sub] makes.
const SubDir = "sub/view"

// Sub adapts newStore for running the suite on a [storage.Sub] view: each
// store it returns is the view at [SubDir] of a new store from newStore,
// which also holds objects just outside the view (a neighbour directory
// and a key that shares the view's bytes), which the view must never
// show.
func Sub(newStore func(t *testing.T) storage.Store) func(t *testing.T) storage.Store {
	return func(t *testing.T) storage.Store {
		outer := newStore(t)
		for _, key := range []string{"sub/other/k", "sub/view-x", "sub/viewx/k"} {
			require.NoError(t, storage.WriteAll(t.Context(), outer, key, []byte("outside"), nil))
		}
		v, err := storage.Sub(outer, SubDir)
		require.NoError(t, err)
		return v
	}
}
