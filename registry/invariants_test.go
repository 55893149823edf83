package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// The reliability tests (fault injection, crashes, replicas) all end by
// reopening the store and checking these invariants.

// readAllLoader loads a version by reading every file through the
// registry's verifying FS (so a corrupt file fails the load) and returns
// its version string.
var readAllLoader = registry.LoaderFunc[string](func(ctx context.Context, pkg *registry.Package) (string, error) {
	for name := range pkg.Version.Files {
		f, err := pkg.FS.Open(name)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return pkg.Version.Version, nil
})

// invariantReport says what checkInvariants saw.
type invariantReport struct {
	Events   int
	Versions int
	Deployed string // the deployed version ("" when none)
	Repair   *registry.RepairResult
}

// checkInvariants reopens the registry in store without faults, with a
// clock two days ahead (so every claim's lease has expired), and checks:
//
//   - the log is 1..N without gaps or duplicates, in History and in the
//     store's keys;
//   - after Repair, nothing is left under _registry/claims/;
//   - every available or deployed version has exactly its recorded files,
//     each with its recorded size and SHA-256;
//   - every key outside _registry/ belongs to a registered version;
//   - each model's deployed version is the only one with status deployed,
//     and a Live loads it;
//   - a Scan then finds nothing to register.
//
// Versions in placed may be in the store unregistered: packages placed by
// hand that no scan has registered yet.
func checkInvariants(ctx context.Context, store storage.Store, placed ...string) (*invariantReport, error) {
	later := time.Now().Add(48 * time.Hour)
	reg, err := registry.Open(ctx, store, &registry.Options{
		SkipOpenScan: true,
		Now:          func() time.Time { return later },
		PollInterval: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("reopen: %w", err)
	}
	defer reg.Close()
	rep := &invariantReport{}

	hist, err := reg.History(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	for i, e := range hist {
		if e.Seq != int64(i+1) {
			return nil, fmt.Errorf("history: event %d has seq %d", i+1, e.Seq)
		}
	}
	rep.Events = len(hist)
	var logKeys []string
	for obj, err := range storage.All(ctx, store, &storage.ListOptions{Prefix: "_registry/log/"}) {
		if err != nil {
			return nil, err
		}
		logKeys = append(logKeys, obj.Key)
	}
	if len(logKeys) != len(hist) {
		return nil, fmt.Errorf("log: %d keys for %d events: %v", len(logKeys), len(hist), logKeys)
	}
	for i, k := range logKeys {
		if want := fmt.Sprintf("_registry/log/%020d.json", i+1); k != want {
			return nil, fmt.Errorf("log: key %d is %s, want %s", i+1, k, want)
		}
	}

	rep.Repair, err = reg.Repair(ctx)
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	for obj, err := range storage.All(ctx, store, &storage.ListOptions{Prefix: "_registry/claims/"}) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("after repair: claim %s remains", obj.Key)
	}

	versions := map[string]*registry.Version{}
	for _, v := range reg.List(nil) {
		versions[v.Version] = v
	}
	rep.Versions = len(versions)
	seen := map[string]map[string]bool{}
	for obj, err := range storage.All(ctx, store, nil) {
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(obj.Key, "_registry/") {
			continue
		}
		dir, name, ok := strings.Cut(obj.Key, "/")
		if !ok {
			return nil, fmt.Errorf("stray key %s", obj.Key)
		}
		version, err := modelpkg.ParseDirName(dir)
		if err == nil && versions[version] == nil && slices.Contains(placed, version) {
			continue
		}
		if err != nil || versions[version] == nil {
			return nil, fmt.Errorf("key %s belongs to no registered version", obj.Key)
		}
		if seen[version] == nil {
			seen[version] = map[string]bool{}
		}
		seen[version][name] = true
	}
	deployedCount := 0
	for _, v := range versions {
		if v.Status == registry.StatusInvalid {
			continue
		}
		if v.Status == registry.StatusDeployed {
			deployedCount++
		}
		if len(seen[v.Version]) != len(v.Files) {
			return nil, fmt.Errorf("version %s (%s): %d files in the store, %d recorded", v.Version, v.Status, len(seen[v.Version]), len(v.Files))
		}
		for name, f := range v.Files {
			if !seen[v.Version][name] {
				return nil, fmt.Errorf("version %s: %s missing", v.Version, name)
			}
			data, err := storage.ReadAll(ctx, store, v.Dir()+name)
			if err != nil {
				return nil, fmt.Errorf("version %s: %w", v.Version, err)
			}
			sum := sha256.Sum256(data)
			if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
				return nil, fmt.Errorf("version %s: %s has %d bytes with another hash (recorded %d)", v.Version, name, len(data), f.Size)
			}
		}
	}
	dep, err := reg.Deployed()
	switch {
	case errors.Is(err, registry.ErrNotFound):
		if deployedCount != 0 {
			return nil, fmt.Errorf("nothing deployed but %d versions say deployed", deployedCount)
		}
	case err != nil:
		return nil, err
	default:
		if dep.Status != registry.StatusDeployed || deployedCount != 1 {
			return nil, fmt.Errorf("deployed %s has status %s; %d versions say deployed", dep.Version, dep.Status, deployedCount)
		}
		live, err := registry.NewLive(ctx, reg, readAllLoader, nil)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		got := live.Version()
		live.Close()
		if got != dep.Version {
			return nil, fmt.Errorf("live serves %q, deployed is %s", got, dep.Version)
		}
		rep.Deployed = dep.Version
	}
	res, err := reg.Scan(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	for _, v := range res.Registered {
		if !slices.Contains(placed, v.Version) {
			return nil, fmt.Errorf("scan after repair registered leftover %s", v.Version)
		}
	}
	if len(res.Invalid) > 0 {
		var why []string
		for _, v := range res.Invalid {
			var keys, events []string
			for obj, err := range storage.All(ctx, store, &storage.ListOptions{Prefix: v.Dir()}) {
				if err == nil {
					keys = append(keys, strings.TrimPrefix(obj.Key, v.Dir()))
				}
			}
			for _, e := range hist {
				if e.Version == v.Version || e.From == v.Version || e.To == v.Version {
					events = append(events, fmt.Sprintf("%d:%s", e.Seq, e.Type))
				}
			}
			why = append(why, fmt.Sprintf("%s: %v; keys %v; events %v", v.Version, v.Findings, keys, events))
		}
		return nil, fmt.Errorf("scan after repair registered %d and found %d invalid: leftovers: %s", len(res.Registered), len(res.Invalid), strings.Join(why, "; "))
	}
	return rep, nil
}

// copyStore copies every object of src into dst.
func copyStore(ctx context.Context, dst, src storage.Store) error {
	for obj, err := range storage.All(ctx, src, nil) {
		if err != nil {
			return err
		}
		if err := storage.Copy(ctx, dst, obj.Key, src, obj.Key, nil); err != nil {
			return err
		}
	}
	return nil
}
