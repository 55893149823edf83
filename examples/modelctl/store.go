package main

import (
	"context"
	"fmt"
	"strings"

	_ "gocloud.dev/blob/azureblob" // azblob:// stores
	_ "gocloud.dev/blob/gcsblob"   // gs:// stores
	_ "gocloud.dev/blob/s3blob"    // s3:// stores

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// openStore opens a store from a directory path or a URL.
func openStore(ctx context.Context, spec string) (storage.Store, func(), error) {
	if strings.Contains(spec, "://") {
		s, err := blobstore.Open(ctx, spec, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("open store %s: %w", spec, err)
		}
		return s, func() { s.Close() }, nil
	}
	s, err := diskstore.Open(spec, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", spec, err)
	}
	return s, func() { s.Close() }, nil
}
