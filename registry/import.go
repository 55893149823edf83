package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelvault/modelvault/internal/ctxio"
	"github.com/modelvault/modelvault/internal/spoolfile"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// ImportOptions controls an import. A nil *ImportOptions means defaults.
type ImportOptions struct {
	Caller
	// SkipValidation skips the registry's Validator. Structure, limits,
	// the manifest and every file's SHA-256 are still checked: they are
	// not optional.
	SkipValidation bool
	// DryRun checks the package and returns what would be registered,
	// without writing anything. The returned version carries every
	// finding; when the package is invalid, Import returns the version
	// and the validation error together.
	DryRun bool
	// Progress, when set, is called as bytes are extracted (done of total
	// uncompressed bytes).
	Progress func(done, total int64)
	// TempDir is where Import spools a stream before opening it as a ZIP
	// (default os.TempDir()).
	TempDir string

	method ImportMethod
}

// Import reads a ZIP package from r and registers it under the version in
// its file name (model_{version}_deployment.zip). The stream is spooled to
// a temporary file, since a ZIP's directory is at its end; use
// [Registry.ImportReaderAt] when the package is already random-access.
//
// Re-importing a version with identical files is a no-op that returns the
// registered version; other files under a registered version fail with
// [ErrVersionExists]. Any failure leaves the store as it was.
func (r *Registry) Import(ctx context.Context, name string, src io.Reader, opts *ImportOptions) (*Version, error) {
	if _, err := modelpkg.ParseFileName(name); err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	dir := ""
	if opts != nil {
		dir = opts.TempDir
	}
	r.sweepSpools(dir)
	// Without a name where the system allows (Unix); elsewhere Close
	// and sweepSpools remove it.
	f, err := spoolfile.Create(dir, spoolPattern)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	defer f.Close()
	// 256 KiB writes: io.Copy would hand the copy to the file's ReadFrom,
	// which writes whatever each read of src returns (often 4-32 KiB).
	size, err := io.CopyBuffer(struct{ io.Writer }{f}, ctxio.Reader(ctx, src), make([]byte, spoolBufferSize))
	if err != nil {
		return nil, fmt.Errorf("import %s: spool: %w", name, err)
	}
	return r.ImportReaderAt(ctx, name, f, size, opts)
}

// Where a spool file cannot be unlinked while open (Windows), the spool
// files of imports that died (a killed process never runs its deferred
// removal) are removed by the next import that spools into the same
// directory, once older than spoolMaxAge. On Unix removing a file still
// open elsewhere is harmless.
const (
	spoolPattern    = "modelvault-import-*.zip"
	spoolMaxAge     = 24 * time.Hour
	spoolBufferSize = 256 << 10
)

// sweepSpools removes stale spool files in dir, once per directory per
// Registry.
func (r *Registry) sweepSpools(dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	if _, done := r.swept.LoadOrStore(dir, true); done {
		return
	}
	matches, _ := filepath.Glob(filepath.Join(dir, spoolPattern))
	for _, m := range matches {
		if info, err := os.Lstat(m); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > spoolMaxAge {
			if err := os.Remove(m); err == nil {
				r.logger.Info("registry: removed a stale import spool file", "path", m)
			}
		}
	}
}

// ImportFromStore imports a ZIP package that is already in the store at
// key, reading it in place through range reads.
func (r *Registry) ImportFromStore(ctx context.Context, key string, opts *ImportOptions) (*Version, error) {
	name := key[strings.LastIndex(key, "/")+1:]
	if _, err := modelpkg.ParseFileName(name); err != nil {
		return nil, fmt.Errorf("import %s: %w", key, err)
	}
	obj, err := r.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", key, err)
	}
	defer obj.Close()
	return r.ImportReaderAt(ctx, name, obj, obj.Size(), opts)
}

// ImportReaderAt imports the ZIP package of the given size read from ra;
// name is its file name. See [Registry.Import].
func (r *Registry) ImportReaderAt(ctx context.Context, name string, ra io.ReaderAt, size int64, opts *ImportOptions) (*Version, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	if o.method == "" {
		o.method = MethodZipUpload
	}
	v, err := r.importPackage(ctx, name, ra, size, &o)
	if err != nil {
		return v, fmt.Errorf("import %s: %w", name, err)
	}
	return v, nil
}

func (r *Registry) importPackage(ctx context.Context, name string, ra io.ReaderAt, size int64, o *ImportOptions) (*Version, error) {
	version, err := modelpkg.ParseFileName(name)
	if err != nil {
		return nil, err
	}
	// Everything that can be checked without writing is checked first.
	pkg, err := modelpkg.Open(ra, size, &modelpkg.OpenOptions{Limits: r.limits, Layout: r.layout})
	if err != nil {
		return nil, err
	}
	defer pkg.Close()
	manifest, err := pkg.ReadManifest()
	if err != nil {
		return nil, err
	}
	md, err := pkg.ReadMetadata()
	if err != nil {
		return nil, err
	}
	if err := modelpkg.CheckVersion(version, md); err != nil {
		return nil, err
	}
	if o.DryRun {
		return r.dryRun(ctx, version, pkg, manifest, o)
	}

	if v, err := r.existing(ctx, version, manifest); v != nil || err != nil {
		return v, err
	}
	r.mu.RLock()
	other := r.st.alias(version)
	r.mu.RUnlock()
	if other != "" {
		return nil, aliasError(version, other)
	}
	claim, err := r.claim(ctx, version)
	if err != nil {
		return nil, err
	}
	// The heartbeat keeps the claim alive through a long import, and
	// cancels the import once the claim is seen taken over.
	ctx, cancelImport := context.WithCancelCause(ctx)
	defer cancelImport(nil)
	claim.heartbeat(func() { cancelImport(errClaimLost) })
	committed, keepClaim := false, false
	dst := &storeDestination{store: r.store, prefix: modelpkg.DirName(version) + "/"}
	defer func() {
		claim.stopHeartbeat(true)
		if keepClaim {
			return
		}
		cctx := context.WithoutCancel(ctx)
		if !committed {
			// Remove what was written, then the claim: a crash in
			// between leaves a claim that a repair resolves.
			held, err := claim.held(cctx)
			if err != nil {
				r.logger.Warn("registry: failed import cannot tell whether it holds its claim; files left to a repair", "version", version, "err", err)
				return
			}
			if !held {
				r.cleanupFenced(cctx, version, dst)
				return
			}
			if err := abortRetrying(cctx, dst); err != nil {
				// Keep the claim: it covers what is left, and a repair
				// removes it once the lease has passed. Released, the
				// files would belong to no claim and no version.
				r.logger.Warn("registry: cleanup after failed import; the claim is kept for a repair", "version", version, "err", err)
				claim.forget(cctx)
				return
			}
		}
		claim.release(cctx)
	}()
	// Another replica may have finished this version between our check
	// and our claim.
	if v, err := r.existing(ctx, version, manifest); v != nil || err != nil {
		return v, err
	}
	if err := r.checkNoFiles(ctx, version); err != nil {
		return nil, err
	}

	res, err := pkg.Extract(ctx, dst, &modelpkg.ExtractOptions{
		Manifest:      manifest,
		AllowUnlisted: r.opts.AllowUnlisted,
		Progress:      o.Progress,
		Limits:        r.limits,
	})
	if err != nil {
		return nil, claimErr(ctx, err)
	}
	rec := &Version{
		Version:      version,
		ModelType:    md.ModelType,
		ImportMethod: o.method,
		ImportedAt:   r.opts.Now().UTC(),
		Files:        make(map[string]File, len(res.Files)),
		Metadata:     metadataJSON(md),
	}
	for _, f := range res.Files {
		rec.Files[f.Name] = File{Size: f.Size, SHA256: f.SHA256}
		rec.Size += f.Size
	}
	// Unlisted-file warnings (res.Warnings) are reported again by the
	// manifest validator, with codes; what Open ignored or renamed is
	// kept with the version.
	var report validate.Report
	packageWarnings(&report, pkg)
	// A validator that cannot read a file may skip it or report it; both
	// are failures of the store, which fail the import as such.
	stored := &errRecorder{Store: r.store}
	r.validatorFor(o).Validate(ctx, &validate.Package{
		FS:      storage.FS(ctx, stored, dst.prefix),
		Version: version,
		Layout:  r.layout,
		Digests: res.Digests,
	}, &report)
	if err := stored.failure(); err != nil {
		return nil, claimErr(ctx, fmt.Errorf("validate stored files: %w", err))
	}
	rec.Findings = report.Findings
	rec.Signer = report.Signer
	if err := report.Err(); err != nil {
		return nil, err
	}
	// Fenced: commit only while the claim is still ours.
	if held, err := claim.held(ctx); err != nil {
		return nil, claimErr(ctx, err)
	} else if !held {
		return nil, fmt.Errorf("%w: %w", ErrConflict, errClaimLost)
	}
	e, err := r.appendEvent(ctx, &o.Caller, func(st *state) (*Event, error) {
		if other := st.alias(version); other != "" {
			return nil, aliasError(version, other)
		}
		if st.Expired[version] == claim.token {
			return nil, fmt.Errorf("%w: %w", ErrConflict, errClaimLost)
		}
		if old := st.Versions[version]; old != nil && old.Valid {
			return nil, fmt.Errorf("%w: %q was registered meanwhile", ErrVersionExists, version)
		}
		return &Event{Type: EventImported, Version: version, Record: rec}, nil
	})
	if err != nil {
		// The store may have kept the event although the write failed:
		// removing the files then would register a version without them.
		cctx := context.WithoutCancel(ctx)
		ok, lerr := r.landed(cctx, err)
		if lerr != nil {
			// Unknown: leave the files and the claim to a repair, which
			// removes them once the claim's lease has passed if the
			// event is not in the log.
			committed, keepClaim = true, true
			return nil, err
		}
		if !ok {
			return nil, err
		}
		r.logger.Warn("registry: an event write reported a failure but landed", "version", version, "err", err)
		e = &Event{Version: version}
	}
	committed = true
	return r.Get(e.Version)
}

// cleanupFenced removes what a failed import wrote after its claim was
// fenced or removed by a repair (its lease passed while it stalled): the
// repair removed the files written until then, but not those the import
// wrote afterwards, which no claim and no version would account for. It
// takes the claim again first, so that no other import can be writing
// meanwhile: a claim another import holds now is left alone with the
// files (that import refuses to extract over them and releases it), and
// so is a version another import committed (its files replaced ours).
func (r *Registry) cleanupFenced(ctx context.Context, version string, dst *storeDestination) {
	c, err := r.claim(ctx, version)
	if err != nil {
		r.logger.Warn("registry: failed import lost its claim, and another holds it; files left alone", "version", version, "err", err)
		return
	}
	if err := r.Sync(ctx); err != nil {
		r.logger.Warn("registry: cleanup after a fenced import", "version", version, "err", err)
		c.forget(ctx)
		return
	}
	r.mu.RLock()
	other := r.st.alias(version)
	r.mu.RUnlock()
	if r.imported(version) || other != "" {
		c.release(ctx)
		return
	}
	if err := abortRetrying(ctx, dst); err != nil {
		r.logger.Warn("registry: cleanup after a fenced import; the claim is kept for a repair", "version", version, "err", err)
		c.forget(ctx)
		return
	}
	c.release(ctx)
}

// abortRetrying removes what dst wrote, trying three times (deletes are
// idempotent): a cleanup that fails keeps its claim for a repair, which
// blocks a new import of the version until the claim's lease passes.
func abortRetrying(ctx context.Context, dst *storeDestination) error {
	var err error
	for range 3 {
		if err = dst.Abort(ctx); err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

// aliasError: version and other would share a directory on a
// case-insensitive store.
func aliasError(version, other string) error {
	return fmt.Errorf("%w: %q is registered, and %q would share its files on a case-insensitive store (versions are unique under case folding and Windows aliases)", ErrVersionExists, other, version)
}

// errClaimLost: an import's claim was taken over while it ran (its lease
// had passed); the import stops without touching the files.
var errClaimLost = errors.New("the import claim was taken over (lease expired)")

// claimErr reports err, or that the claim was lost when that is why the
// import's context was cancelled.
func claimErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errClaimLost) {
		return fmt.Errorf("%w: %w", ErrConflict, errClaimLost)
	}
	return err
}

// dryRun validates the package from the archive itself and returns the
// version that an import would register.
func (r *Registry) dryRun(ctx context.Context, version string, pkg *modelpkg.Package, manifest *modelpkg.Manifest, o *ImportOptions) (*Version, error) {
	md, err := pkg.ReadMetadata()
	if err != nil {
		return nil, err
	}
	rec := &Version{
		Version:      version,
		ModelType:    md.ModelType,
		Status:       StatusAvailable,
		Valid:        true,
		ImportMethod: o.method,
		Files:        map[string]File{},
		Metadata:     metadataJSON(md),
	}
	for _, f := range pkg.Files() {
		rec.Files[f.Name] = File{Size: f.Size, SHA256: manifest.FileHashes[f.Name]}
		rec.Size += f.Size
	}
	var report validate.Report
	packageWarnings(&report, pkg)
	r.validatorFor(o).Validate(ctx, &validate.Package{FS: pkg, Version: version, Layout: r.layout}, &report)
	rec.Findings = report.Findings
	rec.Signer = report.Signer
	if err := report.Err(); err != nil {
		rec.Status, rec.Valid = StatusInvalid, false
		return rec, err
	}
	if r.has(version) {
		return rec, fmt.Errorf("%w: %q", ErrVersionExists, version)
	}
	return rec, nil
}

// packageWarnings adds what Open ignored or renamed (AppleDouble entries,
// bsdtar's "./" names) to report as warning findings, so that the version
// record keeps them.
func packageWarnings(report *validate.Report, pkg *modelpkg.Package) {
	for _, w := range pkg.CodedWarnings() {
		report.Warnf(w.Code, "", "%s", w.Message)
	}
}

// validatorFor returns the validators an import runs: the full set, or
// with SkipValidation the integrity checks alone.
func (r *Registry) validatorFor(o *ImportOptions) validate.Validator {
	if o.SkipValidation {
		return r.integrity
	}
	return r.validator
}

// metadataJSON is the metadata as stored in a version record.
func metadataJSON(md *modelpkg.Metadata) json.RawMessage {
	data, err := json.Marshal(md.Raw)
	if err != nil || md.Raw == nil {
		return nil
	}
	return data
}

// imported reports whether version is registered and valid: an import
// claim for it is left over from an import that finished. (A claim on an
// invalid version is a new import over it.)
func (r *Registry) imported(version string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v := r.st.Versions[version]
	return v != nil && v.Valid
}

func (r *Registry) has(version string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.Versions[version] != nil
}

// existing returns the registered version when it holds exactly the files
// of manifest, and ErrVersionExists when it holds others.
func (r *Registry) existing(ctx context.Context, version string, manifest *modelpkg.Manifest) (*Version, error) {
	if err := r.Sync(ctx); err != nil {
		return nil, err
	}
	r.mu.RLock()
	v := r.st.Versions[version]
	r.mu.RUnlock()
	if v == nil || !v.Valid {
		return nil, nil
	}
	if sameContent(v, manifest, r.layout.ManifestFile) {
		return v.clone(), nil
	}
	return nil, fmt.Errorf("%w: %q is registered with other content (versions are immutable)", ErrVersionExists, version)
}

func sameContent(v *Version, m *modelpkg.Manifest, manifestFile string) bool {
	n := 0
	for name, f := range v.Files {
		if name == manifestFile {
			continue
		}
		if m.FileHashes[name] != f.SHA256 {
			return false
		}
		n++
	}
	return n == len(m.FileHashes)
}

// checkNoFiles fails when files for version are already in the store
// (placed by hand, or left by a deletion not yet repaired).
func (r *Registry) checkNoFiles(ctx context.Context, version string) error {
	page, err := r.store.List(ctx, &storage.ListOptions{Prefix: modelpkg.DirName(version) + "/", PageSize: 1})
	if err != nil {
		return err
	}
	if len(page.Objects) > 0 {
		return fmt.Errorf("%w: files for %q are already in the store (run a scan to register them)", ErrVersionExists, version)
	}
	return nil
}

// storeDestination extracts a package into a store under prefix.
type storeDestination struct {
	store  storage.Store
	prefix string

	mu      sync.Mutex
	written []string
}

var _ modelpkg.Destination = (*storeDestination)(nil)

func (d *storeDestination) WriteFile(ctx context.Context, name string, r io.Reader) error {
	key := d.prefix + name
	d.mu.Lock()
	d.written = append(d.written, key)
	d.mu.Unlock()
	cr := &countingReader{r: r}
	if err := d.store.Put(ctx, key, cr, nil); err != nil {
		return err
	}
	// The validators check the digests computed while extracting, not the
	// stored bytes; a Stat catches a store that lost some of them.
	info, err := d.store.Stat(ctx, key)
	if err != nil {
		return err
	}
	if info.Size != cr.n {
		return fmt.Errorf("%w: %s: the store holds %d bytes of the %d written", modelpkg.ErrHashMismatch, key, info.Size, cr.n)
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (d *storeDestination) Abort(ctx context.Context) error {
	d.mu.Lock()
	keys := append([]string(nil), d.written...)
	d.mu.Unlock()
	sort.Strings(keys)
	var first error
	for _, k := range keys {
		if err := d.store.Delete(ctx, k); err != nil && first == nil {
			first = err
		}
	}
	return first
}
