package blobstore_test

import (
	"context"
	"fmt"
	"io"
	"log"

	_ "gocloud.dev/blob/memblob" // a host imports the drivers it uses: s3blob, gcsblob, azureblob...

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
)

func ExampleOpen() {
	ctx := context.Background()
	s, err := blobstore.Open(ctx, "mem://", nil) // or "s3://bucket?region=eu-west-1", "gs://bucket", ...
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if err := storage.WriteAll(ctx, s, "pkg/model.zip", []byte("0123456789"), nil); err != nil {
		log.Fatal(err)
	}
	// Range reads: the ReaderAt fetches only the bytes asked for, so
	// archive/zip can open a package in the bucket without downloading it.
	r, err := s.Get(ctx, "pkg/model.zip")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.NewSectionReader(r, 3, 4))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Size(), string(b))
	// Output:
	// 10 3456
}
