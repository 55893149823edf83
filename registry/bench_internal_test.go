package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelvault/modelvault/storage/diskstore"
)

// writeSyntheticLog writes a log of nVersions imported events followed by
// deploys up to nEvents, with checkpoints every CheckpointEvery events as
// a registry writes them, into a diskstore at dir.
func writeSyntheticLog(tb testing.TB, dir string, nVersions, nEvents int) {
	tb.Helper()
	ctx := context.Background()
	store, err := diskstore.Open(dir, &diskstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	l := eventLog{store: store}
	st := newState()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	files := map[string]File{}
	for _, name := range []string{"model.joblib", "metadata.json", "deployment_manifest.json", "validate_model.py", "inference_example.py", "requirements.txt", "README.md"} {
		files[name] = File{Size: 1234, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
	}
	for seq := int64(1); seq <= int64(nEvents); seq++ {
		var e *Event
		if seq <= int64(nVersions) {
			v := fmt.Sprintf("1.0.%d", seq)
			e = &Event{Type: EventImported, Version: v, Record: &Version{
				Version: v, ModelType: "RandomForestClassifier", ImportMethod: MethodZipUpload,
				ImportedAt: t0, Size: 7 * 1234, Files: files,
				Metadata: []byte(`{"model_type":"RandomForestClassifier","version":"` + v + `","created_at":"2026-01-01T00:00:00","training_info":{"accuracy":0.97}}`),
			}}
		} else {
			v := fmt.Sprintf("1.0.%d", 1+seq%int64(nVersions))
			e = &Event{Type: EventDeployed, From: st.Current, To: v, Version: v}
			if e.From == v {
				v = fmt.Sprintf("1.0.%d", 1+(seq+1)%int64(nVersions))
				e = &Event{Type: EventDeployed, From: st.Current, To: v, Version: v}
			}
		}
		e.Seq = seq
		e.Time = t0.Add(time.Duration(seq) * time.Second)
		e.ID, e.Prev = newID(), st.Head
		hash, err := l.commit(ctx, e)
		if err != nil {
			tb.Fatal(err)
		}
		if err := st.apply(e, hash); err != nil {
			tb.Fatal(err)
		}
		if seq%DefaultCheckpointEvery == 0 {
			if err := l.writeCheckpoint(ctx, st.clone()); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkOpen10kVersions opens a registry of 10,000 versions and 50,000
// events on diskstore (the target: under 250 ms).
func BenchmarkOpen10kVersions(b *testing.B) {
	dir := filepath.Join(os.TempDir(), "modelvault-bench-open-10k-50k")
	if _, err := os.Stat(filepath.Join(dir, "_registry")); err != nil {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		writeSyntheticLog(b, dir, 10_000, 50_000)
	}
	store, err := diskstore.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := Open(ctx, store, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(r.st.Versions); n != 10_000 {
			b.Fatalf("%d versions", n)
		}
		r.Close()
	}
}
