package faultstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/faultstore"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

func newInner() storage.Store { return aferostore.New(afero.NewMemMapFs(), nil) }

var cond = &storage.PutOptions{IfNotExist: true}

func TestCommitModes(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		mode faultstore.Mode
		opts *storage.PutOptions
		want error
	}{
		{faultstore.ModeCommittedExist, cond, storage.ErrExist},
		{faultstore.ModeCommittedExist, nil, faultstore.ErrInjected}, // an overwrite cannot be "exists"
		{faultstore.ModeCommittedTimeout, cond, context.DeadlineExceeded},
		{faultstore.ModeCommittedCancel, cond, context.Canceled},
		{faultstore.ModeAfter, nil, faultstore.ErrInjected},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/conditional=%v", tc.mode, tc.opts != nil), func(t *testing.T) {
			inner := newInner()
			s := faultstore.New(inner, faultstore.Fault{Kind: faultstore.KindPut, N: 1, Mode: tc.mode})
			err := storage.WriteAll(ctx, s, "k", []byte("mine"), tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, faultstore.ErrInjected)
			got, err := storage.ReadAll(ctx, inner, "k")
			require.NoError(t, err, "the put must have committed")
			assert.Equal(t, "mine", string(got))
		})
	}
	t.Run("delete committed then cancelled", func(t *testing.T) {
		inner := newInner()
		require.NoError(t, storage.WriteAll(ctx, inner, "k", []byte("x"), nil))
		s := faultstore.New(inner, faultstore.Fault{Kind: faultstore.KindDelete, N: 1, Mode: faultstore.ModeCommittedCancel})
		require.ErrorIs(t, s.Delete(ctx, "k"), context.Canceled)
		ok, err := storage.Exists(ctx, inner, "k")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("classic Modes unchanged", func(t *testing.T) {
		assert.NotContains(t, faultstore.Modes(faultstore.KindPut), faultstore.ModeCommittedExist)
		assert.Contains(t, faultstore.CommitModes(faultstore.KindPut), faultstore.ModeCommittedExist)
		assert.Empty(t, faultstore.CommitModes(faultstore.KindGet))
	})
}

func TestDelay(t *testing.T) {
	inner := newInner()
	s := faultstore.New(inner, faultstore.Fault{N: 1, Mode: faultstore.ModeDelay, Delay: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- storage.WriteAll(ctx, s, "k", []byte("x"), nil) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	ok, err := storage.Exists(t.Context(), inner, "k")
	require.NoError(t, err)
	assert.False(t, ok, "a delayed call cut short by its context is not made")

	s.Reset(faultstore.Fault{N: 1, Mode: faultstore.ModeDelay, Delay: time.Microsecond})
	require.NoError(t, storage.WriteAll(t.Context(), s, "k", []byte("x"), nil))
	assert.NotNil(t, s.Fired())
}

// run makes a fixed sequence of calls and returns which failed how.
func run(t *testing.T, n *faultstore.Nemesis) []string {
	s := faultstore.New(newInner(), faultstore.Fault{})
	s.SetNemesis(n)
	var out []string
	for i := range 200 {
		key := fmt.Sprintf("k/%d", i)
		var opts *storage.PutOptions
		if i%2 == 0 {
			opts = cond
		}
		err := storage.WriteAll(t.Context(), s, key, []byte("x"), opts)
		if err != nil {
			out = append(out, fmt.Sprintf("%d:%v", i, err))
		}
		_, _ = s.Stat(t.Context(), key)
	}
	return out
}

func TestNemesis(t *testing.T) {
	rules := []faultstore.Rule{
		{Mode: faultstore.ModeCommittedExist, P: 0.3, OnlyConditional: true},
		{Mode: faultstore.ModeError, P: 0.1, Kind: faultstore.KindStat},
	}
	t.Run("seeded", func(t *testing.T) {
		a := run(t, faultstore.NewNemesis(7, rules...))
		b := run(t, faultstore.NewNemesis(7, rules...))
		c := run(t, faultstore.NewNemesis(8, rules...))
		require.NotEmpty(t, a)
		assert.Equal(t, a, b, "same seed, same faults")
		assert.NotEqual(t, a, c)
	})
	t.Run("filters and counts", func(t *testing.T) {
		n := faultstore.NewNemesis(1, rules...)
		s := faultstore.New(newInner(), faultstore.Fault{})
		s.SetNemesis(n)
		for i := range 100 {
			err := storage.WriteAll(t.Context(), s, fmt.Sprintf("u/%d", i), []byte("x"), nil)
			require.NoError(t, err, "unconditional puts are not faulted by an OnlyConditional rule")
		}
		exists := 0
		for i := range 100 {
			if err := storage.WriteAll(t.Context(), s, fmt.Sprintf("c/%d", i), []byte("x"), cond); err != nil {
				require.ErrorIs(t, err, storage.ErrExist)
				exists++
			}
		}
		assert.Equal(t, exists, n.Counts()[faultstore.ModeCommittedExist])
		assert.Greater(t, exists, 10)
		assert.Less(t, exists, 60)
	})
	t.Run("on and off at runtime", func(t *testing.T) {
		n := faultstore.NewNemesis(1, faultstore.Rule{Mode: faultstore.ModeError, P: 1})
		s := faultstore.New(newInner(), faultstore.Fault{})
		s.SetNemesis(n)
		require.ErrorIs(t, storage.WriteAll(t.Context(), s, "k", nil, nil), faultstore.ErrInjected)
		n.SetEnabled(false)
		require.NoError(t, storage.WriteAll(t.Context(), s, "k", nil, nil))
		n.SetEnabled(true)
		n.SetRules(faultstore.Rule{Mode: faultstore.ModeError, P: 1, KeyPrefix: "other/"})
		require.NoError(t, storage.WriteAll(t.Context(), s, "k", nil, nil))
		require.ErrorIs(t, storage.WriteAll(t.Context(), s, "other/k", nil, nil), faultstore.ErrInjected)
		assert.Equal(t, 2, n.Counts()[faultstore.ModeError])
	})
}
