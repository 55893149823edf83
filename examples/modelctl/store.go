package main

import (
	"context"

	_ "gocloud.dev/blob/azureblob" // azblob:// stores
	_ "gocloud.dev/blob/gcsblob"   // gs:// stores
	_ "gocloud.dev/blob/s3blob"    // s3:// stores

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/storeurl"
)

// openStore opens a store from a directory path or a URL.
func openStore(ctx context.Context, target string) (storage.Store, func(), error) {
	s, err := storeurl.Open(ctx, target, nil)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}
