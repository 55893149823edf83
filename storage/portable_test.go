package storage_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/faultstore"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/storagetest"
)

// faulty returns a Portable over a faultstore driver that fails the
// first conditional put with mode.
func faulty(t *testing.T, mode faultstore.Mode, existMayBeOwn bool) (*storage.Portable, *faultstore.Store) {
	inner := aferostore.New(afero.NewMemMapFs(), nil)
	fs := faultstore.New(inner, faultstore.Fault{Kind: faultstore.KindPut, N: 1, Mode: mode})
	return storage.NewPortable(fs, &storage.PortableOptions{ExistMayBeOwn: existMayBeOwn, ConflictBackoff: 1}), fs
}

// The storage half of scenarios 1 and 2 of issue #11: a conditional
// create that committed is a success whatever the answer said.
func TestPortableResolvesCommittedPuts(t *testing.T) {
	ctx := t.Context()
	data := []byte("event 12 id 8c1e")
	for _, tc := range []struct {
		mode          faultstore.Mode
		existMayBeOwn bool
		want          error // nil: success
	}{
		{faultstore.ModeCommittedExist, true, nil},
		{faultstore.ModeCommittedExist, false, storage.ErrExist}, // a local driver's answer is about another writer
		{faultstore.ModeCommittedTimeout, false, nil},
		{faultstore.ModeCommittedCancel, false, nil},
		{faultstore.ModeCommittedTimeout, true, nil},
		{faultstore.ModeAfter, true, faultstore.ErrInjected}, // a definite failure from the driver is passed on
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			p, fs := faulty(t, tc.mode, tc.existMayBeOwn)
			err := p.Put(ctx, "log/12", bytes.NewReader(data), &storage.PutOptions{IfNotExist: true})
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			require.NotNil(t, fs.Fired())
			got, err := storage.ReadAll(ctx, fs.Inner(), "log/12")
			require.NoError(t, err, "a committed put must stay")
			assert.Equal(t, data, got)
		})
	}
	t.Run("someone else's object after a lost answer is ErrExist", func(t *testing.T) {
		inner := aferostore.New(afero.NewMemMapFs(), nil)
		fs := faultstore.New(inner, faultstore.Fault{Kind: faultstore.KindPut, N: 2, Mode: faultstore.ModeCommittedTimeout})
		p := storage.NewPortable(fs, nil)
		require.NoError(t, storage.WriteAll(ctx, p, "k", []byte("theirs"), nil))
		// The fault fires on our put, which is refused (ErrExist): the
		// injected timeout is not reached. Their object stays.
		err := storage.WriteAll(ctx, p, "k", []byte("mine!!"), &storage.PutOptions{IfNotExist: true})
		require.ErrorIs(t, err, storage.ErrExist)
	})
}

// nothingStored fails every put after reading its body, with an unknown
// outcome, and stores nothing.
type nothingStored struct{ storage.Store }

func (n nothingStored) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	io.Copy(io.Discard, r)
	return storage.ErrUnknownOutcome
}

func TestPortableUnknownOutcome(t *testing.T) {
	ctx := t.Context()
	calls := 0
	inner := aferostore.New(afero.NewMemMapFs(), nil)
	p := storage.NewPortable(countPuts{nothingStored{inner}, &calls}, &storage.PortableOptions{ConflictRetries: 2, ConflictBackoff: 1})
	err := p.Put(ctx, "k", bytes.NewReader([]byte("x")), &storage.PutOptions{IfNotExist: true})
	require.ErrorIs(t, err, storage.ErrUnknownOutcome)
	assert.Equal(t, 3, calls, "a rewindable put is retried while nothing landed")

	calls = 0
	err = p.Put(ctx, "k", io.MultiReader(bytes.NewReader([]byte("x"))), &storage.PutOptions{IfNotExist: true})
	require.ErrorIs(t, err, storage.ErrUnknownOutcome)
	assert.Equal(t, 1, calls, "a reader that cannot be rewound is sent once")
}

type countPuts struct {
	storage.Store
	n *int
}

func (c countPuts) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	*c.n++
	return c.Store.Put(ctx, key, r, opts)
}

// The portable layer owns the checks: a driver never sees a bad key, a
// nil option or an unbounded page size.
func TestPortableChecks(t *testing.T) {
	ctx := t.Context()
	inner := aferostore.New(afero.NewMemMapFs(), nil)
	fs := faultstore.New(inner, faultstore.Fault{})
	p := storage.NewPortable(seeOpts{fs, t}, nil)
	for _, key := range []string{"", "../x", "/a", "a//b", storage.ReservedPrefix + "x"} {
		_, err := p.Get(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey)
		require.ErrorIs(t, p.Put(ctx, key, bytes.NewReader(nil), nil), storage.ErrInvalidKey)
		require.ErrorIs(t, p.Delete(ctx, key), storage.ErrInvalidKey)
		_, err = p.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey)
	}
	_, err := p.List(ctx, &storage.ListOptions{Delimiter: ","})
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	assert.Empty(t, fs.Calls(), "the driver was called with a bad argument")

	require.NoError(t, p.Put(ctx, "k", bytes.NewReader(nil), nil))
	_, err = p.List(ctx, nil)
	require.NoError(t, err)
	_, err = p.List(ctx, &storage.ListOptions{PageSize: 5000})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n := len(fs.Calls())
	_, err = p.Get(cctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, fs.Calls(), n, "a cancelled context reached the driver")
}

// seeOpts checks what the driver is given.
type seeOpts struct {
	storage.Store
	t *testing.T
}

func (s seeOpts) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	require.NotNil(s.t, opts)
	return s.Store.Put(ctx, key, r, opts)
}

func (s seeOpts) List(ctx context.Context, opts *storage.ListOptions) (*storage.ListPage, error) {
	require.NotNil(s.t, opts)
	require.True(s.t, opts.PageSize >= 1 && opts.PageSize <= 1000, "page size %d", opts.PageSize)
	return s.Store.List(ctx, opts)
}

// Under a nemesis that hides the outcome of conditional creates that
// committed (412 for the own object, timeouts, cancellations), exactly
// one of many racers still wins each key, and its bytes are stored.
func TestPortableRaceUnderNemesis(t *testing.T) {
	inner := aferostore.New(afero.NewMemMapFs(), nil)
	fs := faultstore.New(inner, faultstore.Fault{})
	n := faultstore.NewNemesis(11,
		faultstore.Rule{Mode: faultstore.ModeCommittedExist, P: 0.2, OnlyConditional: true},
		faultstore.Rule{Mode: faultstore.ModeCommittedTimeout, P: 0.1, OnlyConditional: true},
		faultstore.Rule{Mode: faultstore.ModeCommittedCancel, P: 0.1, OnlyConditional: true},
		faultstore.Rule{Mode: faultstore.ModeDelay, P: 0.2, Delay: time.Millisecond},
	)
	fs.SetNemesis(n)
	p := storage.NewPortable(fs, &storage.PortableOptions{ExistMayBeOwn: true, ConflictBackoff: 1})
	require.NoError(t, storagetest.CheckConcurrentCreate(t.Context(), p, 8, 40))
	c := n.Counts()
	require.Positive(t, c[faultstore.ModeCommittedExist]+c[faultstore.ModeCommittedTimeout]+c[faultstore.ModeCommittedCancel],
		"the nemesis hid some commits")
	t.Logf("faults injected: %v", c)
}
