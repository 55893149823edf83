package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

func ExampleWriteAll() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)

	if err := storage.WriteAll(ctx, s, "models/bert/1.0.json", []byte(`{"v":1}`), nil); err != nil {
		log.Fatal(err)
	}
	// A second create-if-absent of the same key fails with ErrExist.
	err := storage.WriteAll(ctx, s, "models/bert/1.0.json", []byte(`{"v":2}`), &storage.PutOptions{IfNotExist: true})
	fmt.Println(err)

	b, err := storage.ReadAll(ctx, s, "models/bert/1.0.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
	// Output:
	// put models/bert/1.0.json: file already exists
	// {"v":1}
}

func ExampleAll() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)
	for _, k := range []string{"b/2", "a/1", "b/1", "c"} {
		if err := storage.WriteAll(ctx, s, k, []byte(k), nil); err != nil {
			log.Fatal(err)
		}
	}
	for o, err := range storage.All(ctx, s, &storage.ListOptions{Prefix: "b/"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(o.Key, o.Size)
	}
	// Output:
	// b/1 3
	// b/2 3
}

func ExampleFS() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)
	for _, k := range []string{"pkg/model.onnx", "pkg/meta/card.md", "other"} {
		if err := storage.WriteAll(ctx, s, k, []byte("..."), nil); err != nil {
			log.Fatal(err)
		}
	}
	err := fs.WalkDir(storage.FS(ctx, s, "pkg"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Println(name, d.IsDir())
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// . true
	// meta true
	// meta/card.md false
	// model.onnx false
}

func ExampleValidKey() {
	for _, key := range []string{"models/bert.zip", "../etc/passwd", "a//b"} {
		fmt.Println(key, storage.ValidKey(key) == nil)
	}
	// Output:
	// models/bert.zip true
	// ../etc/passwd false
	// a//b false
}

func ExampleSub() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)
	// One model per prefix of one store.
	bert, err := storage.Sub(s, "models/bert")
	if err != nil {
		log.Fatal(err)
	}
	if err := storage.WriteAll(ctx, bert, "1.0/model.zip", []byte("..."), nil); err != nil {
		log.Fatal(err)
	}
	for o, err := range storage.All(ctx, s, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("store:", o.Key)
	}
	for o, err := range storage.All(ctx, bert, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("view:", o.Key)
	}
	_, err = bert.Get(ctx, "../gpt/1.0/model.zip")
	fmt.Println(errors.Is(err, storage.ErrInvalidKey))
	// Output:
	// store: models/bert/1.0/model.zip
	// view: 1.0/model.zip
	// true
}

func ExampleCheckConditionalCreate() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)
	// Once, when opening a store that several writers share.
	err := storage.CheckConditionalCreate(ctx, s, "_registry/probe")
	fmt.Println(err, errors.Is(err, storage.ErrNoConditionalCreate))
	// Output:
	// <nil> false
}
