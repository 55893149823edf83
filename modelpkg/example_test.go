package modelpkg_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"testing/fstest"

	"github.com/modelvault/modelvault/modelpkg"
)

func ExampleParseFileName() {
	v, err := modelpkg.ParseFileName("model_1.2_deployment.zip")
	fmt.Println(v, err)
	fmt.Println(modelpkg.DirName(v))

	_, err = modelpkg.ParseFileName("model_1.2.zip")
	fmt.Println(modelpkg.Code(err), errors.Is(err, modelpkg.ErrInvalidName))
	// Output:
	// 1.2 <nil>
	// model_1.2
	// invalid_name true
}

func ExampleCompareVersions() {
	vs := []string{"1.10.0", "1.2", "latest", "1.9.3", "2.0.0-rc.1"}
	slices.SortFunc(vs, modelpkg.CompareVersions)
	fmt.Println(vs)
	// Output: [1.2 1.9.3 1.10.0 2.0.0-rc.1 latest]
}

// packageFiles returns the files of a small package.
func packageFiles() fstest.MapFS {
	return fstest.MapFS{
		"model.joblib":         {Data: []byte("\x80\x04}\x94.")},
		"metadata.json":        {Data: []byte(`{"model_type": "RandomForestClassifier", "version": "1.2", "created_at": "2024-05-01T12:30:00", "training_info": {}}`)},
		"validate_model.py":    {Data: []byte("print('ok')\n")},
		"inference_example.py": {Data: []byte("print('predict')\n")},
		"requirements.txt":     {Data: []byte("scikit-learn\n")},
		"README.md":            {Data: []byte("# Iris\n")},
	}
}

// ExampleOpen builds a package, opens it, reads its metadata and lists
// its files.
func ExampleOpen() {
	var buf bytes.Buffer
	if _, err := modelpkg.Build(context.Background(), &buf, packageFiles(), nil); err != nil {
		log.Fatal(err)
	}
	p, err := modelpkg.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	md, err := p.ReadMetadata()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(md.ModelType, md.Version, modelpkg.CheckVersion("1.2", md))
	for _, f := range p.Files() {
		fmt.Println(f.Name, f.Size)
	}
	readme, _ := fs.ReadFile(p, "README.md")
	fmt.Printf("%q\n", readme)
	// Output:
	// RandomForestClassifier 1.2 <nil>
	// README.md 7
	// deployment_manifest.json 569
	// inference_example.py 17
	// metadata.json 116
	// model.joblib 5
	// requirements.txt 13
	// validate_model.py 12
	// "# Iris\n"
}

// ExamplePackage_Extract extracts a package into a directory, verifying
// every file against the manifest on the way.
func ExamplePackage_Extract() {
	var buf bytes.Buffer
	if _, err := modelpkg.Build(context.Background(), &buf, packageFiles(), nil); err != nil {
		log.Fatal(err)
	}
	p, err := modelpkg.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "modelvault-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	dst, err := modelpkg.OpenDirDestination(filepath.Join(tmp, modelpkg.DirName("1.2")), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()
	res, err := p.Extract(context.Background(), dst, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Files), "files")
	fmt.Println("model.joblib", res.Digests["model.joblib"][:12])
	// Output:
	// 7 files
	// model.joblib 926248e52d1f
}

// ExampleHashMismatchError shows that an extraction lists every file
// whose digest differs from the manifest.
func ExampleHashMismatchError() {
	var buf bytes.Buffer
	m, err := modelpkg.Build(context.Background(), &buf, packageFiles(), nil)
	if err != nil {
		log.Fatal(err)
	}
	p, err := modelpkg.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil {
		log.Fatal(err)
	}
	// Pretend the manifest said something else about two files.
	m.FileHashes["README.md"] = m.FileHashes["model.joblib"]
	m.FileHashes["requirements.txt"] = m.FileHashes["model.joblib"]
	_, err = p.Extract(context.Background(), discardDest{}, &modelpkg.ExtractOptions{Manifest: m})
	var hm *modelpkg.HashMismatchError
	if errors.As(err, &hm) {
		for _, mm := range hm.Mismatches {
			fmt.Println(mm.Name)
		}
	}
	fmt.Println(errors.Is(err, modelpkg.ErrHashMismatch), modelpkg.Code(err))
	// Output:
	// README.md
	// requirements.txt
	// true hash_mismatch
}
