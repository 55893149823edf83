package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
)

// RepairResult reports what a repair did.
type RepairResult struct {
	// ReleasedClaims are versions whose import finished but whose claim a
	// crash left behind.
	ReleasedClaims []string
	// RemovedImports are versions whose import was abandoned (a claim
	// older than the lease without an imported event); their files were
	// removed.
	RemovedImports []string
	// RemovedDeleted are deleted versions whose files a crash left behind.
	RemovedDeleted []string
	// InProgress are claims younger than the lease, left alone: another
	// process may still be importing.
	InProgress []string
}

// Repair cleans up after crashes: claims of finished imports, files of
// abandoned imports (claims older than [Options.ClaimLease]) and files of
// deleted versions. An import in progress in another process is never
// touched. Open runs it unless told not to.
func (r *Registry) Repair(ctx context.Context) (*RepairResult, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	res := &RepairResult{}
	for obj, err := range storage.All(ctx, r.store, &storage.ListOptions{Prefix: claimPrefix}) {
		if err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		version, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, claimPrefix), ".json")
		if !ok || modelpkg.ValidateVersion(version) != nil {
			continue
		}
		if r.imported(version) {
			// Its import committed; only a claim of that import is
			// left over (an import of a registered version stops
			// before writing).
			if err := r.store.Delete(ctx, obj.Key); err != nil {
				return res, fmt.Errorf("repair: %w", err)
			}
			res.ReleasedClaims = append(res.ReleasedClaims, version)
			continue
		}
		rec, alive, err := r.readClaim(ctx, version)
		if errors.Is(err, storage.ErrNotExist) {
			continue // released since the listing
		}
		if err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		if r.opts.Now().Sub(alive) <= r.opts.ClaimLease {
			res.InProgress = append(res.InProgress, version)
			continue
		}
		if err := r.removeAbandoned(ctx, version, rec.Token); err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		res.RemovedImports = append(res.RemovedImports, version)
	}
	r.mu.RLock()
	deleted := slices.Sorted(maps.Keys(r.st.Deleted))
	r.mu.RUnlock()
	for _, version := range deleted {
		prefix := modelpkg.DirName(version) + "/"
		page, err := r.store.List(ctx, &storage.ListOptions{Prefix: prefix, PageSize: 1})
		if err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		if len(page.Objects) == 0 {
			continue
		}
		removed, err := r.removeDeletedFiles(ctx, version)
		if err != nil {
			return res, fmt.Errorf("repair: %w", err)
		}
		if !removed {
			continue // being imported again
		}
		res.RemovedDeleted = append(res.RemovedDeleted, version)
	}
	return res, nil
}
