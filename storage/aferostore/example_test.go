package aferostore_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/spf13/afero"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
)

func ExampleNew() {
	ctx := context.Background()
	s := aferostore.New(afero.NewMemMapFs(), nil)
	if err := storage.WriteAll(ctx, s, "state/head", []byte("v1"), nil); err != nil {
		log.Fatal(err)
	}
	_, err := s.Stat(ctx, "state/missing")
	fmt.Println(errors.Is(err, storage.ErrNotExist))
	info, err := s.Stat(ctx, "state/head")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Key, info.Size)
	// Output:
	// true
	// state/head 2
}
