package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

var ctx = context.Background()

func TestImport(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)

	var progress []int64
	data := zipOf(t, pkgFiles("1.0.0", ""))
	v, err := r.Import(ctx, "model_1.0.0_deployment.zip", bytes.NewReader(data), &registry.ImportOptions{
		Caller:   registry.Caller{Actor: "alice", Reason: "first"},
		Progress: func(done, total int64) { progress = append(progress, done) },
	})
	require.NoError(t, err)
	assert.Equal(t, "1.0.0", v.Version)
	assert.Equal(t, "RandomForestClassifier", v.ModelType)
	assert.Equal(t, registry.StatusAvailable, v.Status)
	assert.Equal(t, registry.MethodZipUpload, v.ImportMethod)
	assert.Len(t, v.Files, 7)
	assert.NotEmpty(t, progress)
	var md map[string]any
	require.NoError(t, json.Unmarshal(v.Metadata, &md))
	assert.Equal(t, "1.0.0", md["version"])

	// Files are extracted under model_{version}/, and no claim is left.
	assert.Contains(t, fileKeys(t, store), "model_1.0.0/model.joblib")
	assert.Len(t, fileKeys(t, store), 7)
	assert.Empty(t, keys(t, store, "_registry/claims/"))

	got, err := r.Get("1.0.0")
	require.NoError(t, err)
	assert.Equal(t, v, got)
	assert.Len(t, r.List(nil), 1)

	h, err := r.History(ctx, nil)
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, registry.EventImported, h[0].Type)
	assert.Equal(t, "alice", h[0].Actor)
	assert.Equal(t, "first", h[0].Reason)
}

func TestImportIdempotentAndImmutable(t *testing.T) {
	r := openReg(t, memStore(), nil)
	data := zipOf(t, pkgFiles("1.0", ""))
	v1, err := r.Import(ctx, "model_1.0_deployment.zip", bytes.NewReader(data), nil)
	require.NoError(t, err)

	t.Run("identical content is a no-op", func(t *testing.T) {
		v2, err := r.Import(ctx, "model_1.0_deployment.zip", bytes.NewReader(data), nil)
		require.NoError(t, err)
		assert.Equal(t, v1, v2)
		h, err := r.History(ctx, nil)
		require.NoError(t, err)
		assert.Len(t, h, 1)
	})
	t.Run("other content is ErrVersionExists", func(t *testing.T) {
		files := pkgFiles("1.0", "")
		files["README.md"].Data = []byte("changed\n")
		_, err := r.Import(ctx, "model_1.0_deployment.zip", bytes.NewReader(zipOf(t, files)), nil)
		require.ErrorIs(t, err, registry.ErrVersionExists)
		assert.Equal(t, "version_exists", modelpkg.Code(err))
	})
}

func TestImportRejections(t *testing.T) {
	tampered := pkgFiles("2.0", "")
	tampered["model.joblib"].Data = []byte("\x80\x04}\x94.")
	tampered["README.md"].Data = []byte("tampered after hashing\n")
	manifestOK := pkgFiles("2.0", "")
	tamperedZip := func(t *testing.T) []byte {
		tampered[modelpkg.DefaultManifestFile] = manifestOK[modelpkg.DefaultManifestFile]
		return zipRaw(t, tampered)
	}
	missing := pkgFiles("2.0", "")
	delete(missing, "README.md")
	wrongVersion := pkgFiles("2.0", "")

	tests := []struct {
		name     string
		fileName string
		data     func(t *testing.T) []byte
		want     error
	}{
		{"bad file name", "model-2.0.zip", func(t *testing.T) []byte { return zipOf(t, pkgFiles("2.0", "")) }, modelpkg.ErrInvalidName},
		{"path in file name", "../model_2.0_deployment.zip", func(t *testing.T) []byte { return zipOf(t, pkgFiles("2.0", "")) }, modelpkg.ErrInvalidName},
		{"not a zip", "model_2.0_deployment.zip", func(t *testing.T) []byte { return []byte("not a zip at all") }, modelpkg.ErrInvalidArchive},
		{"hash mismatch", "model_2.0_deployment.zip", tamperedZip, modelpkg.ErrHashMismatch},
		{"missing required file", "model_2.0_deployment.zip", func(t *testing.T) []byte { return zipOf(t, missing) }, modelpkg.ErrMissingFile},
		{"version disagrees with metadata", "model_3.0_deployment.zip", func(t *testing.T) []byte { return zipOf(t, wrongVersion) }, modelpkg.ErrInvalidMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memStore()
			r := openReg(t, store, nil)
			_, err := r.Import(ctx, tt.fileName, bytes.NewReader(tt.data(t)), nil)
			require.ErrorIs(t, err, tt.want)
			assert.Empty(t, fileKeys(t, store), "nothing may be left behind")
			assert.Empty(t, keys(t, store, "_registry/claims/"))
			assert.Empty(t, r.List(nil))
		})
	}
}

func TestImportValidationFindings(t *testing.T) {
	r := openReg(t, memStore(), nil)
	files := pkgFiles("1.0", "")
	files["model.joblib"].Data = []byte("\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.")
	_, err := r.Import(ctx, "model_1.0_deployment.zip", bytes.NewReader(zipOf(t, files)), nil)
	require.Error(t, err)
	var verr *validate.Error
	require.ErrorAs(t, err, &verr)
	assert.NotEmpty(t, verr.Findings)
	assert.ErrorIs(t, err, validate.ErrUnsafeModel)
}

func TestImportDryRun(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	data := zipOf(t, pkgFiles("1.0", ""))
	v, err := r.Import(ctx, "model_1.0_deployment.zip", bytes.NewReader(data), &registry.ImportOptions{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, "1.0", v.Version)
	assert.Len(t, v.Files, 7)
	assert.Empty(t, r.List(nil))
	assert.Empty(t, keys(t, store, ""))
}

func TestDeployRollbackHistory(t *testing.T) {
	r := openReg(t, memStore(), nil)
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		importVersion(t, r, v, "")
	}
	caller := &registry.Caller{Actor: "bob"}
	e, err := r.Deploy(ctx, "1.0", caller)
	require.NoError(t, err)
	assert.Equal(t, "", e.From)
	assert.Equal(t, "1.0", e.To)

	t.Run("deploying the deployed version is a no-op", func(t *testing.T) {
		e, err := r.Deploy(ctx, "1.0", caller)
		require.NoError(t, err)
		assert.True(t, e.NoOp)
	})

	_, err = r.Deploy(ctx, "1.1", caller)
	require.NoError(t, err)
	_, err = r.Deploy(ctx, "1.2", caller)
	require.NoError(t, err)
	d, err := r.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "1.2", d.Version)
	assert.Equal(t, registry.StatusDeployed, d.Status)
	v11, _ := r.Get("1.1")
	assert.Equal(t, registry.StatusAvailable, v11.Status)

	e, err = r.Rollback(ctx, &registry.RollbackOptions{Caller: registry.Caller{Actor: "bob", Reason: "bad metrics"}})
	require.NoError(t, err)
	assert.Equal(t, registry.EventRolledBack, e.Type)
	assert.Equal(t, "1.2", e.From)
	assert.Equal(t, "1.1", e.To)
	assert.Equal(t, "bad metrics", e.Reason)

	e, err = r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To, "a second rollback goes back another deployment")

	_, err = r.Rollback(ctx, nil)
	require.ErrorIs(t, err, registry.ErrNoPrevious)

	e, err = r.Rollback(ctx, &registry.RollbackOptions{To: "1.2"})
	require.NoError(t, err)
	assert.Equal(t, "1.2", e.To)

	h, err := r.History(ctx, nil)
	require.NoError(t, err)
	var types []registry.EventType
	for _, e := range h {
		types = append(types, e.Type)
	}
	assert.Equal(t, []registry.EventType{"imported", "imported", "imported", "deployed", "deployed", "deployed", "rolled_back", "rolled_back", "rolled_back"}, types)
	for i, e := range h {
		assert.Equal(t, int64(i+1), e.Seq)
	}

	h, err = r.History(ctx, &registry.HistoryOptions{Version: "1.1"})
	require.NoError(t, err)
	// imported, deployed, replaced by 1.2, rolled back to, rolled back from
	assert.Len(t, h, 5)
}

func TestDeployErrors(t *testing.T) {
	r := openReg(t, memStore(), nil)
	_, err := r.Deploy(ctx, "9.9", nil)
	require.ErrorIs(t, err, registry.ErrNotFound)
	_, err = r.Rollback(ctx, nil)
	require.ErrorIs(t, err, registry.ErrNoPrevious)
}

// A registry is one model's lineage: moving from one estimator class to
// another (LogisticRegression 1.0, then RandomForest 2.0) replaces the
// deployment instead of starting a second "model", and a package without
// model_type joins the same lineage.
func TestOneLineageWhateverTheModelType(t *testing.T) {
	r := openReg(t, memStore(), nil)
	importVersion(t, r, "1.0", "LogisticRegression")
	importVersion(t, r, "2.0", "RandomForestClassifier")
	files := pkgFiles("3.0", "")
	files[modelpkg.DefaultMetadataFile].Data = []byte(`{"version":"3.0","created_at":"2026-01-01T00:00:00"}`)
	v3, err := r.ImportReaderAt(ctx, modelpkg.FileName("3.0"), bytes.NewReader(zipOf(t, files)), int64(len(zipOf(t, files))), nil)
	require.NoError(t, err)
	assert.Equal(t, "", v3.ModelType)

	live, err := registry.NewLive(ctx, r, readAllLoader, nil)
	require.NoError(t, err, "a Live starts whatever the model types")
	defer live.Close()
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		_, err := r.Deploy(ctx, v, nil)
		require.NoError(t, err)
		require.NoError(t, live.WaitFor(ctx, v))
	}
	d, err := r.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "3.0", d.Version)
	deployed := r.List(&registry.ListOptions{Status: registry.StatusDeployed})
	require.Len(t, deployed, 1, "one deployed version, not one per model_type")
	one, err := r.Get("1.0")
	require.NoError(t, err)
	assert.Equal(t, "LogisticRegression", one.ModelType)
	assert.Equal(t, registry.StatusAvailable, one.Status)

	e, err := r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "3.0", e.From)
	assert.Equal(t, "2.0", e.To, "rollback crosses model types")
	e, err = r.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "1.0", e.To)
}

func TestDeleteAndPrune(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	for _, v := range []string{"1", "2", "3", "4", "5"} {
		importVersion(t, r, v, "")
	}
	_, err := r.Deploy(ctx, "3", nil)
	require.NoError(t, err)

	_, err = r.Delete(ctx, "3", nil)
	require.ErrorIs(t, err, registry.ErrInUse)
	_, err = r.Delete(ctx, "nope", nil)
	require.ErrorIs(t, err, registry.ErrNotFound)

	_, err = r.Delete(ctx, "1", nil)
	require.NoError(t, err)
	assert.Empty(t, keys(t, store, "model_1/"))
	_, err = r.Get("1")
	require.ErrorIs(t, err, registry.ErrNotFound)

	would, err := r.Prune(ctx, &registry.PruneOptions{Keep: 1, DryRun: true})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"2", "4"}, would)
	assert.Len(t, r.List(nil), 4)

	deleted, err := r.Prune(ctx, &registry.PruneOptions{Keep: 1})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"2", "4"}, deleted)
	var left []string
	for _, v := range r.List(nil) {
		left = append(left, v.Version)
	}
	assert.Equal(t, []string{"5", "3"}, left)
}

func TestReopenReplaysLogAndCheckpoints(t *testing.T) {
	store := memStore()
	opts := &registry.Options{CheckpointEvery: 3}
	r := openReg(t, store, opts)
	for i := range 5 {
		importVersion(t, r, fmt.Sprint(i), "")
	}
	_, err := r.Deploy(ctx, "2", nil)
	require.NoError(t, err)
	_, err = r.Deploy(ctx, "4", nil)
	require.NoError(t, err)
	assert.NotEmpty(t, keys(t, store, "_registry/checkpoints/"))

	r2 := openReg(t, store, &registry.Options{CheckpointEvery: 3})
	assert.Equal(t, r.List(nil), r2.List(nil))
	e, err := r2.Rollback(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "2", e.To, "rollback history survives a reopen from a checkpoint")
}

func TestUnknownEventTypeIsAnError(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	importVersion(t, r, "1", "")
	ev := []byte(`{"seq":2,"type":"quantum_teleported","time":"2026-01-01T00:00:00Z"}`)
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/log/00000000000000000002.json", ev, nil))
	_, err := registry.Open(ctx, store, nil)
	require.ErrorIs(t, err, registry.ErrUnknownEvent)
}

func TestScanManualPlacement(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	files := pkgFiles("7.0", "")

	// A half-copied directory: the model file is still missing.
	for name, f := range files {
		if name == "model.joblib" {
			continue
		}
		require.NoError(t, storage.WriteAll(ctx, store, "model_7.0/"+name, f.Data, nil))
	}
	res, err := r.Scan(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, res.Registered)
	require.Len(t, res.Invalid, 1)
	v, err := r.Get("7.0")
	require.NoError(t, err)
	assert.Equal(t, registry.StatusInvalid, v.Status)
	assert.NotEmpty(t, v.Findings)
	_, err = r.Deploy(ctx, "7.0", nil)
	require.ErrorIs(t, err, registry.ErrInvalid)

	// Scanning again with nothing changed records nothing new.
	h1, _ := r.History(ctx, nil)
	_, err = r.Scan(ctx, nil)
	require.NoError(t, err)
	h2, _ := r.History(ctx, nil)
	assert.Len(t, h2, len(h1))

	// The copy completes: the next scan registers it.
	require.NoError(t, storage.WriteAll(ctx, store, "model_7.0/model.joblib", files["model.joblib"].Data, nil))
	res, err = r.Scan(ctx, nil)
	require.NoError(t, err)
	require.Len(t, res.Registered, 1)
	v, err = r.Get("7.0")
	require.NoError(t, err)
	assert.Equal(t, registry.StatusAvailable, v.Status)
	assert.Equal(t, registry.MethodManualPlacement, v.ImportMethod)
	_, err = r.Deploy(ctx, "7.0", nil)
	require.NoError(t, err, "scan never deploys, but a scanned version can be deployed")
}

func TestScanZipAndOpenScan(t *testing.T) {
	store := memStore()
	require.NoError(t, storage.WriteAll(ctx, store, "model_8.1_deployment.zip", zipOf(t, pkgFiles("8.1", "")), nil))
	require.NoError(t, storage.WriteAll(ctx, store, "model_bad name_deployment.zip", []byte("x"), nil))
	r := openReg(t, store, nil) // Open scans
	v, err := r.Get("8.1")
	require.NoError(t, err)
	assert.Equal(t, registry.MethodManualPlacement, v.ImportMethod)
	_, err = r.Deployed()
	require.ErrorIs(t, err, registry.ErrNotFound, "nothing is deployed automatically")
}

func TestValidateDetectsTampering(t *testing.T) {
	store := memStore()
	var notices []registry.Notice
	r := openReg(t, store, &registry.Options{Notify: func(n registry.Notice) { notices = append(notices, n) }})
	importVersion(t, r, "1", "")
	importVersion(t, r, "2", "")
	_, err := r.Deploy(ctx, "1", nil)
	require.NoError(t, err)

	rep, err := r.Validate(ctx, "2", nil)
	require.NoError(t, err)
	assert.True(t, rep.Valid())

	require.NoError(t, storage.WriteAll(ctx, store, "model_2/README.md", []byte("evil"), nil))
	_, err = r.Deploy(ctx, "2", nil)
	require.ErrorIs(t, err, modelpkg.ErrHashMismatch, "deploy re-verifies hashes")

	rep, err = r.Validate(ctx, "2", nil)
	require.NoError(t, err)
	assert.False(t, rep.Valid())
	v, _ := r.Get("2")
	assert.Equal(t, registry.StatusInvalid, v.Status)
	_, err = r.Deploy(ctx, "2", nil)
	require.ErrorIs(t, err, registry.ErrInvalid)

	var failed int
	for _, n := range notices {
		if n.Kind == registry.NoticeVerificationFailed {
			failed++
		}
	}
	assert.GreaterOrEqual(t, failed, 2)
}

func TestRepair(t *testing.T) {
	store := memStore()
	now := time.Now()
	clock := func() time.Time { return now }
	r := openReg(t, store, &registry.Options{Now: clock})
	importVersion(t, r, "1", "")

	// A crashed import: a claim and some files, no imported event.
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/claims/2.json", []byte(`{"version":"2","started":"`+now.UTC().Format(time.RFC3339Nano)+`"}`), nil))
	require.NoError(t, storage.WriteAll(ctx, store, "model_2/model.joblib", []byte("half"), nil))
	// A finished import whose claim was left behind.
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/claims/1.json", []byte(`{}`), nil))

	res, err := r.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, res.ReleasedClaims)
	assert.Equal(t, []string{"2"}, res.InProgress, "a young claim may be another replica's import")
	assert.NotEmpty(t, keys(t, store, "model_2/"))

	now = now.Add(2 * time.Hour)
	res, err = r.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"2"}, res.RemovedImports)
	assert.Empty(t, keys(t, store, "model_2/"))
	assert.Empty(t, keys(t, store, "_registry/claims/"))

	// A deletion that crashed before removing the files.
	require.NoError(t, storage.WriteAll(ctx, store, "model_1/extra", []byte("x"), nil))
	_, err = r.Delete(ctx, "1", nil)
	require.NoError(t, err)
	require.NoError(t, storage.WriteAll(ctx, store, "model_1/model.joblib", []byte("left"), nil))
	res, err = r.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, res.RemovedDeleted)
	assert.Empty(t, keys(t, store, "model_1/"))
}

func TestImportClaimConflict(t *testing.T) {
	store := memStore()
	r := openReg(t, store, nil)
	require.NoError(t, storage.WriteAll(ctx, store, "_registry/claims/1.json", []byte(`{"version":"1","started":"`+time.Now().UTC().Format(time.RFC3339Nano)+`"}`), nil))
	_, err := r.Import(ctx, "model_1_deployment.zip", bytes.NewReader(zipOf(t, pkgFiles("1", ""))), nil)
	require.ErrorIs(t, err, registry.ErrConflict)
	assert.Empty(t, fileKeys(t, store))
}

func TestWatchSeesOtherRegistries(t *testing.T) {
	store := memStore()
	a := openReg(t, store, nil)
	b := openReg(t, store, nil)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := b.Watch(wctx)
	importVersion(t, a, "1", "")
	_, err := a.Deploy(ctx, "1", nil)
	require.NoError(t, err)
	var got []registry.EventType
	timeout := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case e := <-events:
			got = append(got, e.Type)
		case <-timeout:
			t.Fatalf("watch saw only %v", got)
		}
	}
	assert.Equal(t, []registry.EventType{registry.EventImported, registry.EventDeployed}, got)
	d, err := b.Deployed()
	require.NoError(t, err)
	assert.Equal(t, "1", d.Version)
}

func TestErrorsHaveCodes(t *testing.T) {
	for _, err := range []error{registry.ErrNotFound, registry.ErrVersionExists, registry.ErrInUse, registry.ErrConflict, registry.ErrInvalid} {
		assert.NotEmpty(t, modelpkg.Code(err), err.Error())
		assert.True(t, errors.Is(fmt.Errorf("wrapped: %w", err), err))
	}
}
