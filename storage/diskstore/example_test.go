package diskstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/diskstore"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "diskstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := diskstore.Open(filepath.Join(dir, "store"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Put(ctx, "models/bert/1.0.zip", strings.NewReader("PK..."), &storage.PutOptions{IfNotExist: true})
	if err != nil {
		log.Fatal(err)
	}
	// Keys are checked before anything touches the disk.
	fmt.Println(s.Put(ctx, "../outside", strings.NewReader("x"), nil))

	// Loaders that need a file name get one.
	p, err := s.LocalPath("models/bert/1.0.zip")
	if err != nil {
		log.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, p)
	fmt.Println(filepath.ToSlash(rel))
	// Output:
	// put ../outside: invalid key: empty, ".", or ".." element, or leading or trailing slash
	// store/models/bert/1.0.zip
}
