package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/internal/ctxio"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// ScanResult reports what a scan found.
type ScanResult struct {
	// Registered are the placed packages that were valid and are now
	// available.
	Registered []*Version
	// Invalid are the placed packages that failed validation, with their
	// findings; they are listed with status invalid, and registered by a
	// later scan once they pass (a directory still being copied, say).
	Invalid []*Version
	// Skipped names store entries that look like packages but were left
	// alone, with the reason (a bad name, an import in progress).
	Skipped map[string]string
}

// Scan looks for packages placed in the store by hand: model_{version}/
// directories and model_{version}_deployment.zip files at the store's
// root. Each one not yet registered is validated (every file hashed, so a
// half-copied directory never registers) and recorded with import method
// manual_placement. Nothing is deployed. Open runs a scan unless told not
// to.
func (r *Registry) Scan(ctx context.Context, caller *Caller) (*ScanResult, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	res := &ScanResult{Skipped: map[string]string{}}
	var dirs, zips []string
	token := ""
	for {
		page, err := r.store.List(ctx, &storage.ListOptions{Delimiter: "/", PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, p := range page.Prefixes {
			if strings.HasPrefix(p, "model_") {
				dirs = append(dirs, strings.TrimSuffix(p, "/"))
			}
		}
		for _, o := range page.Objects {
			if strings.HasPrefix(o.Key, "model_") && strings.HasSuffix(o.Key, ".zip") {
				zips = append(zips, o.Key)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		version, err := modelpkg.ParseDirName(dir)
		if err != nil {
			res.Skipped[dir+"/"] = err.Error()
			continue
		}
		reason, err := r.scanSkip(ctx, version)
		if err != nil {
			return res, fmt.Errorf("scan: %w", err)
		}
		if reason != "" {
			if reason != "registered" {
				res.Skipped[dir+"/"] = reason
			}
			continue
		}
		if err := r.scanDir(ctx, version, caller, res); err != nil {
			return res, fmt.Errorf("scan %s/: %w", dir, err)
		}
	}
	for _, key := range zips {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		version, err := modelpkg.ParseFileName(key)
		if err != nil {
			res.Skipped[key] = err.Error()
			continue
		}
		if slices.Contains(dirs, modelpkg.DirName(version)) {
			continue // the directory is the placed copy
		}
		reason, err := r.scanSkip(ctx, version)
		if err != nil {
			return res, fmt.Errorf("scan: %w", err)
		}
		if reason != "" {
			if reason != "registered" {
				res.Skipped[key] = reason
			}
			continue
		}
		v, err := r.ImportFromStore(ctx, key, &ImportOptions{Caller: callerOr(caller), method: MethodManualPlacement})
		switch {
		case err == nil:
			res.Registered = append(res.Registered, v)
		case errors.Is(err, ErrConflict) || errors.Is(err, ErrVersionExists):
			res.Skipped[key] = err.Error()
		case isRejection(err):
			inv := &Version{Version: version, ImportMethod: MethodManualPlacement, Files: map[string]File{}}
			inv.Findings = findingsOf(err)
			if err := r.recordInvalid(ctx, inv, caller); err != nil {
				return res, fmt.Errorf("scan %s: %w", key, err)
			}
			res.Invalid = append(res.Invalid, inv)
		default:
			return res, fmt.Errorf("scan %s: %w", key, err)
		}
	}
	return res, nil
}

func callerOr(c *Caller) Caller {
	if c == nil {
		return Caller{Actor: "scan"}
	}
	return *c
}

// scanSkip says why a scan leaves version alone, or "" to check it. A
// failure to learn whether an import is in progress is an error: a scan
// must never validate (and so race) another replica's import.
func (r *Registry) scanSkip(ctx context.Context, version string) (string, error) {
	r.mu.RLock()
	v := r.st.Versions[version]
	_, deleted := r.st.Deleted[version]
	r.mu.RUnlock()
	if v != nil && v.Valid {
		return "registered", nil
	}
	if deleted {
		return "deleted; its files are removed by the next repair", nil
	}
	r.mu.RLock()
	other := r.st.alias(version)
	r.mu.RUnlock()
	if other != "" {
		return fmt.Sprintf("shares its directory with registered version %q on a case-insensitive store", other), nil
	}
	claimed, err := storage.Exists(ctx, r.store, claimKey(version))
	if err != nil {
		return "", err
	}
	if claimed {
		return "an import is in progress", nil
	}
	return "", nil
}

// scanDir validates a placed directory and records the outcome.
func (r *Registry) scanDir(ctx context.Context, version string, caller *Caller, res *ScanResult) error {
	report, files, err := r.checkStored(ctx, version, nil)
	if err != nil {
		return err
	}
	rec := &Version{
		Version:      version,
		ImportMethod: MethodManualPlacement,
		ImportedAt:   r.opts.Now().UTC(),
		Files:        files,
		Findings:     report.Findings,
		Signer:       report.Signer,
	}
	for _, f := range files {
		rec.Size += f.Size
	}
	rec.ModelType, rec.Metadata, err = r.storedMetadata(ctx, version)
	if err != nil {
		return err
	}
	if !report.Valid() {
		r.notify(Notice{Kind: NoticeScanRejected, Version: version, Err: report.Err(), Findings: report.Findings})
		if err := r.recordInvalid(ctx, rec, caller); err != nil {
			return err
		}
		res.Invalid = append(res.Invalid, rec)
		return nil
	}
	c := callerOr(caller)
	e, err := r.appendEvent(ctx, &c, func(st *state) (*Event, error) {
		if old := st.Versions[version]; old != nil && old.Valid {
			return nil, errNoop
		}
		if other := st.alias(version); other != "" {
			return nil, errNoop
		}
		if _, deleted := st.Deleted[version]; deleted {
			// Deleted while the scan ran: never resurrected.
			return nil, errNoop
		}
		return &Event{Type: EventImported, Version: version, Record: rec}, nil
	})
	if err != nil {
		return err
	}
	if !e.NoOp {
		v, err := r.Get(version)
		if err != nil {
			return err
		}
		res.Registered = append(res.Registered, v)
	}
	return nil
}

// recordInvalid records a placed package as invalid, unless it is already
// recorded with the same findings (so repeated scans do not grow the log).
func (r *Registry) recordInvalid(ctx context.Context, rec *Version, caller *Caller) error {
	c := callerOr(caller)
	_, err := r.appendEvent(ctx, &c, func(st *state) (*Event, error) {
		if old := st.Versions[rec.Version]; old != nil {
			if old.Valid || sameFindings(old.Findings, rec.Findings) {
				return nil, errNoop
			}
		} else if _, deleted := st.Deleted[rec.Version]; deleted && rec.ImportMethod == MethodManualPlacement && len(rec.Files) > 0 {
			return nil, errNoop // deleted while the scan ran
		}
		return &Event{Type: EventInvalid, Version: rec.Version, Record: rec}, nil
	})
	return err
}

func sameFindings(a, b []validate.Finding) bool {
	return slices.EqualFunc(a, b, func(x, y validate.Finding) bool {
		return x.Severity == y.Severity && x.Code == y.Code && x.Path == y.Path && x.Message == y.Message
	})
}

// storedMetadata reads a stored version's model_type and metadata, best
// effort (validation reports what is wrong with them). A failure of the
// store is returned: it must not register the package without them.
func (r *Registry) storedMetadata(ctx context.Context, version string) (string, []byte, error) {
	key := modelpkg.DirName(version) + "/" + r.layout.MetadataFile
	rec := &errRecorder{Store: r.store}
	obj, err := rec.Get(ctx, key)
	if err != nil {
		return "", nil, rec.failure()
	}
	defer obj.Close()
	md, err := modelpkg.ParseMetadata(obj, nil)
	if err := rec.failure(); err != nil {
		return "", nil, err
	}
	if err != nil {
		return "", nil, nil
	}
	return md.ModelType, metadataJSON(md), nil
}

// checkStored hashes every stored file of version, compares them with
// recorded (when given), and runs the validators on the stored copy with
// the digests just computed, so that no file is read twice for hashing.
func (r *Registry) checkStored(ctx context.Context, version string, recorded map[string]File) (*validate.Report, map[string]File, error) {
	prefix := modelpkg.DirName(version) + "/"
	files := map[string]File{}
	digests := map[string]string{}
	report := &validate.Report{}
	for obj, err := range storage.All(ctx, r.store, &storage.ListOptions{Prefix: prefix}) {
		if err != nil {
			return nil, nil, err
		}
		name := strings.TrimPrefix(obj.Key, prefix)
		f, err := hashObject(ctx, r.store, obj.Key)
		if err != nil {
			return nil, nil, err
		}
		files[name] = f
		digests[name] = f.SHA256
	}
	for _, name := range slices.Sorted(maps.Keys(recorded)) {
		want := recorded[name]
		got, ok := files[name]
		switch {
		case !ok:
			report.Errorf(modelpkg.ErrMissingFile, name, "%s was recorded at import but is missing from the store", name)
		case got.SHA256 != want.SHA256 || got.Size != want.Size:
			report.Errorf(modelpkg.ErrHashMismatch, name, "%s changed since import: sha256 %s (%d bytes), recorded %s (%d bytes)", name, got.SHA256, got.Size, want.SHA256, want.Size)
		}
	}
	if recorded != nil {
		for _, name := range slices.Sorted(maps.Keys(files)) {
			if _, ok := recorded[name]; !ok {
				report.Errorf(modelpkg.ErrInvalidManifest, name, "%s was added to the store after import", name)
			}
		}
	}
	// A read that failed is a fault of the store, not a finding: recording
	// it would mark a valid package invalid.
	rec := &errRecorder{Store: r.store}
	// The validators see the snapshot just hashed, not the live store:
	// only the listed files exist, and each read is checked against the
	// digest recorded here, so what is registered is what was validated
	// (a file that lands or changes meanwhile is not silently left out).
	snapshot := recorded
	if snapshot == nil {
		snapshot = files
	}
	r.validator.Validate(ctx, &validate.Package{
		FS:      newVerifyingFS(ctx, rec, &Version{Version: version, Files: snapshot}),
		Version: version,
		Layout:  r.layout,
		Digests: digests,
	}, report)
	if err := rec.failure(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return report, files, nil
}

func hashObject(ctx context.Context, s storage.Store, key string) (File, error) {
	obj, err := s.Get(ctx, key)
	if err != nil {
		return File{}, err
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxio.Reader(ctx, obj))
	if err != nil {
		return File{}, fmt.Errorf("hash %s: %w", key, err)
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// isRejection reports whether err rejects a package (as opposed to a
// failure of the store or the context).
func isRejection(err error) bool {
	var verr *validate.Error
	return errors.As(err, &verr) || (modelpkg.Code(err) != "" && !errors.Is(err, ErrConflict))
}

// findingsOf turns an import error into findings.
func findingsOf(err error) []validate.Finding {
	var verr *validate.Error
	if errors.As(err, &verr) {
		return verr.Findings
	}
	return []validate.Finding{{Severity: validate.SeverityError, Code: modelpkg.Code(err), Message: err.Error(), Err: err}}
}
