package registry

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

// legacyVersion is a version as a grouping registry recorded it.
type legacyVersion struct {
	version, modelType, model string // model: the name the old log gave it
}

// legacyStore builds a store as a registry that grouped versions by model
// name left it: real files, and a log whose events carry model names
// (and no IDs or chain, as the oldest logs), deploying deploys in order.
func legacyStore(t *testing.T, versions []legacyVersion, deploys []string) storage.Store {
	t.Helper()
	ctx := context.Background()
	store := aferostore.New(afero.NewMemMapFs(), nil)
	r, err := Open(ctx, store, nil)
	require.NoError(t, err)
	names := map[string]string{}
	var recs []*Version
	for _, lv := range versions {
		files := pkgtest.Files(lv.version)
		md := files[modelpkg.DefaultMetadataFile]
		md.Data = bytes.ReplaceAll(md.Data, []byte("RandomForestClassifier"), []byte(lv.modelType))
		data := pkgtest.Zip(t, files)
		v, err := r.ImportReaderAt(ctx, modelpkg.FileName(lv.version), bytes.NewReader(data), int64(len(data)), nil)
		require.NoError(t, err)
		v.ModelType = "" // old records carried "model" instead
		recs = append(recs, v)
		names[lv.version] = lv.model
	}
	require.NoError(t, r.Close())
	require.NoError(t, storage.DeletePrefix(ctx, store, registryPrefix))

	l := eventLog{store: store}
	seq := int64(0)
	put := func(e *Event) {
		seq++
		e.Seq = seq
		_, err := l.commit(ctx, e)
		require.NoError(t, err)
	}
	for _, rec := range recs {
		rec.Status, rec.Valid, rec.Deployed = StatusAvailable, true, false
		put(&Event{Type: EventImported, Version: rec.Version, LegacyModel: names[rec.Version], Record: rec})
	}
	current := map[string]string{}
	for _, v := range deploys {
		m := names[v]
		put(&Event{Type: EventDeployed, Version: v, LegacyModel: m, From: current[m], To: v})
		current[m] = v
	}
	return store
}

// A log grouped only by model_type (the old default) opens unchanged as
// one lineage: the last deployment is the deployed version.
func TestLegacyModelTypeGroupingOpensAsOneLineage(t *testing.T) {
	ctx := context.Background()
	store := legacyStore(t, []legacyVersion{
		{"1.0", "LogisticRegression", "LogisticRegression"},
		{"2.0", "RandomForestClassifier", "RandomForestClassifier"},
		{"3.0", "", "default"},
	}, []string{"1.0", "2.0"})
	r, err := Open(ctx, store, nil)
	require.NoError(t, err)
	d, err := r.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "2.0", d.Version)
	one, err := r.Get("1.0")
	require.NoError(t, err)
	assert.Equal(t, StatusAvailable, one.Status, "one deployed version, not one per model_type")
	assert.Equal(t, "LogisticRegression", one.ModelType, "derived from the stored metadata")
	e, err := r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To)
	_, err = r.Deploy(ctx, "3.0", nil)
	require.NoError(t, err)

	// A later Open (and a checkpoint) keep the same state.
	r2, err := Open(ctx, store, &Options{CheckpointEvery: 1})
	require.NoError(t, err)
	d, err = r2.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "3.0", d.Version)
}

// One model an importer named is one lineage too.
func TestLegacySingleNamedModelOpens(t *testing.T) {
	store := legacyStore(t, []legacyVersion{
		{"1.0", "LogisticRegression", "fraud"},
		{"2.0", "RandomForestClassifier", "fraud"},
	}, []string{"1.0", "2.0"})
	r, err := Open(context.Background(), store, nil)
	require.NoError(t, err)
	d, err := r.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "2.0", d.Version)
}

// Several models named by their importers cannot become one lineage
// without changing what is served: Open refuses and says how to migrate,
// and Migrate splits the store into models/NAME/ registries.
func TestLegacyNamedModelsMigrate(t *testing.T) {
	ctx := context.Background()
	store := legacyStore(t, []legacyVersion{
		{"1.0", "LogisticRegression", "fraud"},
		{"2.0", "LogisticRegression", "fraud"},
		{"3.0", "RandomForestClassifier", "Churn"},
	}, []string{"1.0", "3.0", "2.0"})
	_, err := Open(ctx, store, nil)
	require.ErrorIs(t, err, ErrLegacyLayout)
	assert.Contains(t, err.Error(), "fraud (2 versions)")
	assert.Contains(t, err.Error(), "modelctl --store URL migrate")

	_, err = Migrate(ctx, store, &MigrateOptions{Names: map[string]string{"Churn": "Bad Name"}})
	require.ErrorIs(t, err, ErrInvalidModelName)
	names, err := Models(ctx, store)
	require.NoError(t, err)
	assert.Empty(t, names, "a refused name writes nothing")

	got, err := Migrate(ctx, store, nil)
	require.NoError(t, err)
	require.Equal(t, []MigratedModel{
		{From: "Churn", Name: "churn", Versions: []string{"3.0"}, Deployed: "3.0"},
		{From: "fraud", Name: "fraud", Versions: []string{"1.0", "2.0"}, Deployed: "2.0"},
	}, got)
	again, err := Migrate(ctx, store, nil)
	require.NoError(t, err, "a second run resumes (here: finds everything done)")
	assert.Equal(t, got, again)

	fraud, err := OpenModel(ctx, store, "fraud", nil)
	require.NoError(t, err)
	d, err := fraud.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "2.0", d.Version)
	assert.Equal(t, MethodZipUpload, d.ImportMethod, "the original record is kept")
	assert.Len(t, fraud.List(nil), 2)
	e, err := fraud.Rollback(ctx, nil)
	require.NoError(t, err, "the rollback history came along")
	assert.Equal(t, "1.0", e.To)
	churn, err := OpenModel(ctx, store, "churn", nil)
	require.NoError(t, err)
	d, err = churn.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "3.0", d.Version)
	require.NoError(t, churn.verifyVersion(ctx, d), "files copied and verified")
}

// A copy whose bytes do not match the record is refused.
func TestMigrateRefusesCorruptFiles(t *testing.T) {
	ctx := context.Background()
	store := legacyStore(t, []legacyVersion{
		{"1.0", "LogisticRegression", "fraud"},
		{"3.0", "RandomForestClassifier", "churn"},
	}, nil)
	require.NoError(t, storage.WriteAll(ctx, store, "model_3.0/README.md", []byte("changed"), nil))
	_, err := Migrate(ctx, store, nil)
	require.ErrorIs(t, err, modelpkg.ErrHashMismatch)
}

// A copy already at the destination (an earlier run's, or a store
// client's retried write) is accepted only with the recorded bytes.
func TestMigrateChecksCopiesItFinds(t *testing.T) {
	ctx := context.Background()
	store := legacyStore(t, []legacyVersion{
		{"1.0", "LogisticRegression", "fraud"},
		{"3.0", "RandomForestClassifier", "churn"},
	}, nil)
	require.NoError(t, storage.WriteAll(ctx, store, "models/churn/model_3.0/README.md", []byte("not the recorded bytes"), nil))
	_, err := Migrate(ctx, store, nil)
	require.ErrorIs(t, err, modelpkg.ErrHashMismatch)
}
