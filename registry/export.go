package registry

import (
	"context"
	"fmt"
	"io"

	"github.com/modelvault/modelvault/modelpkg"
)

// Export writes version as a package to w: the archive modelpkg.Build
// makes from the stored files, with the stored manifest's fields kept, so
// that a version can be moved to another store, inspected or archived.
// Every file is checked against its recorded SHA-256 as it is read; a
// mismatch fails with an error matching modelpkg.ErrHashMismatch, after
// part of the archive may have been written (w then holds no valid ZIP).
// An unknown version is ErrNotFound.
func (r *Registry) Export(ctx context.Context, version string, w io.Writer) error {
	if err := r.Sync(ctx); err != nil {
		return err
	}
	v, err := r.Get(version)
	if err != nil {
		return err
	}
	vfs := newVerifyingFS(ctx, r.store, v)
	if _, err := modelpkg.Build(ctx, w, vfs, &modelpkg.BuildOptions{Layout: r.layout}); err != nil {
		return fmt.Errorf("export %s: %w", version, err)
	}
	return nil
}
