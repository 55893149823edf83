package storeurl_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/storeurl"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "storeurl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A directory path opens a diskstore; "mem://", "s3://...", "gs://..."
	// and "azblob://..." open a blobstore (with the driver imported).
	for _, target := range []string{dir, "mem://"} {
		s, err := storeurl.Open(ctx, target, nil)
		if err != nil {
			log.Fatal(err)
		}
		if err := storage.WriteAll(ctx, s, "hello.txt", []byte("hi"), nil); err != nil {
			log.Fatal(err)
		}
		ok, err := storage.Exists(ctx, s, "hello.txt")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%T %v\n", s.Store, ok)
		s.Close()
	}
	// Output:
	// *diskstore.Store true
	// *blobstore.Store true
}
