package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/faultstore"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// faultOp is one registry operation run under fault injection, on a
// registry seeded with 1.0.0, 1.1.0 and 1.2.0 (1.1.0 deployed after
// 1.0.0) and a placed, unregistered model_3.0.0/.
type faultOp struct {
	name string
	run  func(ctx context.Context, r *registry.Registry) error
	// done reports whether the operation's effect is complete, for a run
	// that returned nil.
	done func(r *registry.Registry) error
}

func faultOps(zip200 []byte) []faultOp {
	status := func(version string, want registry.Status) func(r *registry.Registry) error {
		return func(r *registry.Registry) error {
			v, err := r.Get(version)
			if err != nil {
				return err
			}
			if v.Status != want {
				return fmt.Errorf("%s is %s, want %s", version, v.Status, want)
			}
			return nil
		}
	}
	gone := func(versions ...string) func(r *registry.Registry) error {
		return func(r *registry.Registry) error {
			for _, v := range versions {
				if _, err := r.Get(v); !errors.Is(err, registry.ErrNotFound) {
					return fmt.Errorf("%s still registered (%v)", v, err)
				}
			}
			return nil
		}
	}
	return []faultOp{
		{"import", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Import(ctx, modelpkg.FileName("2.0.0"), bytes.NewReader(zip200), nil)
			return err
		}, status("2.0.0", registry.StatusAvailable)},
		{"scan", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Scan(ctx, nil)
			return err
		}, func(r *registry.Registry) error {
			if err := status("3.0.0", registry.StatusAvailable)(r); err != nil {
				return err
			}
			if v, _ := r.Get("3.0.0"); v.ModelType != "RandomForestClassifier" {
				return fmt.Errorf("3.0.0 registered with model_type %q", v.ModelType)
			}
			return nil
		}},
		{"deploy", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Deploy(ctx, "1.2.0", nil)
			return err
		}, status("1.2.0", registry.StatusDeployed)},
		{"rollback", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Rollback(ctx, nil)
			return err
		}, status("1.0.0", registry.StatusDeployed)},
		{"delete", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Delete(ctx, "1.2.0", nil)
			return err
		}, gone("1.2.0")},
		{"prune", func(ctx context.Context, r *registry.Registry) error {
			_, err := r.Prune(ctx, &registry.PruneOptions{Keep: 0})
			return err
		}, gone("1.0.0", "1.2.0")},
	}
}

// faultSeed builds the seeded store every fault run starts from.
func faultSeed(t *testing.T) storage.Store {
	t.Helper()
	ctx := context.Background()
	seed := memStore()
	r := openReg(t, seed, nil)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		importVersion(t, r, v, "")
	}
	_, err := r.Deploy(ctx, "1.0.0", nil)
	require.NoError(t, err)
	_, err = r.Deploy(ctx, "1.1.0", nil)
	require.NoError(t, err)
	for name, f := range pkgFiles("3.0.0", "") {
		require.NoError(t, storage.WriteAll(ctx, seed, "model_3.0.0/"+name, f.Data, nil))
	}
	return seed
}

// TestFaultInjection runs each operation once to count its store calls,
// then once per call index and failure mode with that call failing, on a
// fresh copy of the seeded store, and checks the invariants on the
// underlying store afterwards. Every run either fails, or succeeds with
// its effect complete; the faults an operation tolerates are logged.
func TestFaultInjection(t *testing.T) {
	ctx := context.Background()
	seed := faultSeed(t)
	zip200 := zipOf(t, pkgFiles("2.0.0", ""))
	start := time.Now()
	total := 0
	for _, op := range faultOps(zip200) {
		t.Run(op.name, func(t *testing.T) {
			fresh := func() (*faultstore.Store, *registry.Registry) {
				inner := memStore()
				require.NoError(t, copyStore(ctx, inner, seed))
				fs := faultstore.New(inner, faultstore.Fault{})
				r, err := registry.Open(ctx, fs, &registry.Options{SkipOpenScan: true, PollInterval: time.Hour})
				require.NoError(t, err)
				t.Cleanup(func() { r.Close() })
				return fs, r
			}
			// Count the calls of a clean run.
			fs, r := fresh()
			fs.Reset(faultstore.Fault{})
			require.NoError(t, op.run(ctx, r))
			require.NoError(t, op.done(r))
			calls := fs.Calls()
			_, err := checkInvariants(ctx, fs.Inner(), "3.0.0")
			require.NoError(t, err)

			tolerated := map[string]int{}
			points, failed := 0, 0
			for i, c := range calls {
				modes := faultstore.Modes(c.Kind)
				if c.Kind == faultstore.KindPut && strings.HasPrefix(c.Key, "_registry/") {
					// The log, claims and checkpoints need the atomic
					// (conditional) create every backend provides; a
					// torn log entry is reported as a corrupt log.
					modes = slices.DeleteFunc(modes, func(m faultstore.Mode) bool { return m == faultstore.ModePartialWrite })
				}
				if c.Kind == faultstore.KindPut && strings.HasPrefix(c.Key, "model_") {
					modes = append(modes, faultstore.ModeSilentTruncate)
				}
				for _, m := range modes {
					fs, r := fresh()
					fs.Reset(faultstore.Fault{N: i + 1, Mode: m})
					err := op.run(ctx, r)
					fired := fs.Fired()
					r.Close()
					if fired == nil {
						continue // the calls went another way this time
					}
					points++
					where := fmt.Sprintf("call %d (%s %s) %s", i+1, fired.Kind, fired.Key, m)
					if err == nil {
						// Tolerated: the operation must still have done
						// all it promised.
						r2, oerr := registry.Open(ctx, fs.Inner(), &registry.Options{SkipOpenScan: true, PollInterval: time.Hour})
						require.NoError(t, oerr, where)
						require.NoError(t, op.done(r2), "%s: succeeded without its effect", where)
						r2.Close()
						tolerated[fmt.Sprintf("%s %s %s", fired.Kind, keyClass(fired.Key), m)]++
						t.Logf("tolerated: %s", where)
					} else {
						failed++
					}
					if m == faultstore.ModeSilentTruncate {
						require.Error(t, err, "%s: a truncated file went unnoticed", where)
					}
					if _, err := checkInvariants(ctx, fs.Inner(), "3.0.0"); err != nil {
						t.Fatalf("%s: invariants: %v", where, err)
					}
				}
			}
			total += points
			var tol []string
			for k, n := range tolerated {
				tol = append(tol, fmt.Sprintf("%s x%d", k, n))
			}
			sort.Strings(tol)
			t.Logf("%s: %d store calls, %d fault points, %d failed, %d tolerated: %v", op.name, len(calls), points, failed, points-failed, tol)
		})
	}
	t.Logf("fault injection: %d fault points in %v", total, time.Since(start).Round(time.Millisecond))
}

// keyClass names the kind of key a call touched.
func keyClass(key string) string {
	switch {
	case strings.HasPrefix(key, "_registry/log/"):
		return "log"
	case strings.HasPrefix(key, "_registry/claims/"):
		return "claim"
	case strings.HasPrefix(key, "_registry/checkpoints/"):
		return "checkpoint"
	case strings.HasPrefix(key, "model_"):
		return "file"
	case key == "":
		return "root"
	}
	return key
}
