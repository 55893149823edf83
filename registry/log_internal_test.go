package registry

import (
	"context"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/validate"
)

func TestCheckpointRoundTrip(t *testing.T) {
	st := newState()
	st.Seq = 7
	st.Versions["1"] = &Version{Version: "1", ModelType: "m", Status: StatusInvalid,
		Files:    map[string]File{"a": {Size: 1, SHA256: "ab"}},
		Findings: []validate.Finding{{Severity: validate.SeverityError, Code: "hash_mismatch", Path: "a", Message: "bad", Err: modelpkg.ErrHashMismatch}}}
	st.Current = "1"
	st.Rollbacks = []string{"1"}
	data, err := encodeCheckpoint(st)
	require.NoError(t, err, "findings' error values must not break the encoding")
	assert.NotNil(t, st.Versions["1"].Findings[0].Err, "encoding must not touch the live state")

	got, err := decodeCheckpoint(data)
	require.NoError(t, err)
	assert.Equal(t, int64(7), got.Seq)
	assert.Equal(t, "hash_mismatch", got.Versions["1"].Findings[0].Code)
	assert.Nil(t, got.Versions["1"].Findings[0].Err)
	assert.Equal(t, st.Rollbacks, got.Rollbacks)
	assert.Equal(t, "1", got.Current)
	assert.NotNil(t, got.Deleted, "empty maps come back usable")

	_, err = decodeCheckpoint(data[:len(data)/2])
	assert.ErrorIs(t, err, ErrCorruptLog)
	_, err = decodeCheckpoint([]byte(`{"seq":7}`))
	assert.ErrorIs(t, err, ErrCorruptLog)
	_, err = decodeCheckpoint(append([]byte("modelvault-checkpoint-v2\n"), data[len(checkpointMagic):]...))
	assert.ErrorIs(t, err, ErrCorruptLog, "a checkpoint of the grouping layout is skipped (the log is replayed)")
}

func TestTornCheckpointFallsBack(t *testing.T) {
	ctx := context.Background()
	store := aferostore.New(afero.NewMemMapFs(), nil)
	l := eventLog{store: store}
	good := newState()
	good.Seq = 3
	data, err := encodeCheckpoint(good)
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, store, checkpointKey(3), data, nil))
	require.NoError(t, storage.WriteAll(ctx, store, checkpointKey(6), data[:10], nil))
	st, err := l.latestCheckpoint(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Seq, "a torn newer checkpoint is skipped, the older one used")
}

func TestRollbackStackIsBounded(t *testing.T) {
	st := newState()
	seq := int64(0)
	next := func(e *Event) {
		seq++
		e.Seq = seq
		require.NoError(t, st.apply(e, ""))
	}
	for _, v := range []string{"a", "b"} {
		next(&Event{Type: EventImported, Version: v, Record: &Version{Version: v}})
	}
	for i := 0; i < 3*maxRollbackStack; i++ {
		v := []string{"a", "b"}[i%2]
		next(&Event{Type: EventDeployed, Version: v, To: v})
	}
	assert.Len(t, st.Rollbacks, maxRollbackStack)
}
