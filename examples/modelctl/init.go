package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
)

func cmdInit() *command {
	return &command{
		name: "init", args: "DIR", minArgs: 1, maxArgs: 1,
		summary: "create a package skeleton in a directory",
		help: `Creates DIR (or fills it) with what a package needs besides the model:
metadata.json stamped with --version, --model-type and the current time,
and the four companion files every package must hold: validate_model.py,
inference_example.py, requirements.txt and README.md. Existing files are
kept unless --force. With --model FILE, model.joblib is copied in too.
Then: modelctl pack DIR -o model_{version}_deployment.zip.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.version, "version", "1.0.0", "the package's version")
			fs.StringVar(&o.modelType, "model-type", "RandomForestClassifier", "metadata model_type (the estimator class)")
			fs.StringVar(&o.modelFile, "model", "", "a model.joblib to copy into DIR")
			fs.BoolVar(&o.force, "force", false, "overwrite existing files")
		},
		run: runInit,
	}
}

func runInit(e *env, o *cmdOpts, args []string) error {
	dir := args[0]
	if err := modelpkg.ValidateVersion(o.version); err != nil {
		return usagef("--version: %v", err)
	}
	if strings.TrimSpace(o.modelType) == "" {
		return usagef("--model-type must not be empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := skeleton(o.version, o.modelType, time.Now())
	if err != nil {
		return err
	}
	var wrote, kept []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		ok, err := writeNew(filepath.Join(dir, name), files[name], o.force)
		if err != nil {
			return err
		}
		if ok {
			wrote = append(wrote, name)
		} else {
			kept = append(kept, name)
		}
	}
	if o.modelFile != "" {
		if err := copyModel(o.modelFile, filepath.Join(dir, modelpkg.DefaultModelFile), o.force); err != nil {
			return err
		}
		wrote = append(wrote, modelpkg.DefaultModelFile)
	}
	_, statErr := os.Stat(filepath.Join(dir, modelpkg.DefaultModelFile))
	hasModel := statErr == nil
	out := modelpkg.FileName(o.version)
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "dir": dir, "wrote": nonNil(wrote), "kept": nonNil(kept), "has_model": hasModel, "next": "modelctl pack " + dir + " -o " + out})
		return nil
	}
	for _, n := range wrote {
		fmt.Fprintf(e.stdout, "wrote %s\n", filepath.Join(dir, n))
	}
	for _, n := range kept {
		fmt.Fprintf(e.stdout, "kept  %s (exists; --force to overwrite)\n", filepath.Join(dir, n))
	}
	if !hasModel {
		fmt.Fprintf(e.stdout, "next: copy your scikit-learn model.joblib into %s, then\n", dir)
	} else {
		fmt.Fprintln(e.stdout, "next:")
	}
	fmt.Fprintf(e.stdout, "  modelctl pack %s -o %s\n", dir, out)
	return nil
}

// skeleton returns the files init writes: metadata and the companions.
func skeleton(version, modelType string, now time.Time) (map[string][]byte, error) {
	md, err := json.MarshalIndent(map[string]any{
		"model_type": modelType,
		"version":    version,
		"created_at": now.UTC().Format("2006-01-02T15:04:05.000000"),
		"training_info": map[string]any{
			"dataset":  "describe the training data here",
			"accuracy": nil,
		},
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	title := modelType + " " + version
	return map[string][]byte{
		modelpkg.DefaultMetadataFile: append(md, '\n'),
		"validate_model.py": []byte(`"""Checks that model.joblib loads and predicts; exits non-zero if not."""
import sys

import joblib

model = joblib.load("model.joblib")
if not hasattr(model, "predict"):
    sys.exit("model.joblib has no predict method")
print("ok:", type(model).__name__)
`),
		"inference_example.py": []byte(`"""Loads model.joblib and predicts one sample."""
import joblib

model = joblib.load("model.joblib")
# Replace with a sample of your model's features.
sample = [[5.1, 3.5, 1.4, 0.2]]
print(model.predict(sample))
`),
		"requirements.txt": []byte("scikit-learn\njoblib\n"),
		"README.md": []byte("# " + title + "\n\n" +
			"Describe the model: what it predicts, its inputs (features, units,\n" +
			"order), its training data and its known limits.\n\n" +
			"    python validate_model.py      # checks that the model loads\n" +
			"    python inference_example.py   # predicts one sample\n"),
	}, nil
}

// writeNew writes data to path unless it exists (and force is not set);
// it reports whether it wrote.
func writeNew(path string, data []byte, force bool) (bool, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	return true, f.Close()
}

// copyModel copies the model file src to dst.
func copyModel(src, dst string, force bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	out, err := os.OpenFile(dst, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists (--force to overwrite)", dst)
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// missingFiles returns the files a package must hold that dir lacks, but
// the manifest, which pack writes.
func missingFiles(dir string) []string {
	var missing []string
	for _, name := range modelpkg.DefaultLayout().Required {
		if name == modelpkg.DefaultManifestFile {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil || !fi.Mode().IsRegular() {
			missing = append(missing, name)
		}
	}
	return missing
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
