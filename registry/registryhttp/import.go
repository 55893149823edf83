package registryhttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"github.com/modelvault/modelvault/internal/httpguard"
	"github.com/modelvault/modelvault/internal/spoolfile"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
)

// serveImport streams the multipart field "file" to a temporary file and
// imports it. The part's file name is checked before a byte of its body
// is read, and the whole request body is bounded by MaxUploadSize.
func (h *Handler) serveImport(rw http.ResponseWriter, r *http.Request, actor string) {
	w := h.observe(rw)
	defer w.done()
	q := r.URL.Query()
	doValidate, err := boolParam(q.Get("validate"), true)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("%w: validate: %w", errBadRequest, err))
		return
	}
	if !doValidate && !h.opts.AllowSkipValidation {
		h.writeError(w, r, fmt.Errorf("%w: this server does not allow skipping validation (validate=false)", ErrForbidden))
		return
	}
	dryRun, err := boolParam(q.Get("dry_run"), false)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("%w: dry_run: %w", errBadRequest, err))
		return
	}
	if r.ContentLength > h.maxUpload {
		h.writeError(w, r, errTooLarge)
		return
	}
	reserve := h.maxUpload
	if r.ContentLength > 0 {
		reserve = r.ContentLength
	}
	if !h.gate.acquire(reserve) {
		h.writeError(w, r, errBusy)
		return
	}
	kept := int64(0) // bytes a staged package keeps reserved
	defer func() { h.gate.releaseUpload(reserve, kept) }()
	ctype, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ctype != "multipart/form-data" || params["boundary"] == "" {
		h.writeError(w, r, fmt.Errorf("%w: want a multipart/form-data body with a field \"file\"", errBadRequest))
		return
	}
	// multipart.Reader reads through a 4 KiB buffer; a larger one in
	// front of the connection saves most of the read system calls of a
	// large upload.
	rr := &rateReader{r: r.Body, rc: http.NewResponseController(w), start: time.Now(), grace: h.opts.UploadGrace, minRate: h.opts.MinUploadRate}
	body := bufio.NewReaderSize(http.MaxBytesReader(httpguard.Root(rw), io.NopCloser(rr), h.maxUpload), uploadBufferSize)
	mr := multipart.NewReader(body, params["boundary"])
	opts := &registry.ImportOptions{
		Caller:         caller(r, actor),
		SkipValidation: !doValidate,
		DryRun:         dryRun,
		TempDir:        h.opts.TempDir,
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			h.writeError(w, r, fmt.Errorf("%w: the form has no field \"file\"", errBadRequest))
			return
		}
		if err != nil {
			h.writeError(w, r, bodyError(err))
			return
		}
		if part.FormName() != "file" {
			// Other fields are ignored (their bytes still count against
			// the limit); options come from the query string.
			part.Close()
			continue
		}
		// The part is not drained afterwards: a refused upload is not
		// read any further (the server discards or closes).
		kept = h.importPart(w, r, part, opts, reserve)
		return
	}
}

// importPart checks the part's file name, spools its body and imports it.
// It returns how many of the reserved bytes a staged package keeps.
func (h *Handler) importPart(w http.ResponseWriter, r *http.Request, part *multipart.Part, opts *registry.ImportOptions, reserved int64) (kept int64) {
	name, err := partFileName(part)
	if err != nil {
		h.writeError(w, r, err)
		return 0
	}
	if _, err := modelpkg.ParseFileName(name); err != nil {
		h.writeError(w, r, err)
		return 0
	}
	sp, err := spoolfile.Create(h.opts.TempDir, spoolPattern)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("spool upload: %w", err))
		return 0
	}
	f := sp.File
	keep := false // a staged package keeps the spool
	defer func() {
		if !keep {
			sp.Close()
		}
	}()
	started := time.Now()
	bw := spoolWriter(f)
	size, err := io.Copy(bw, part)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) || errors.Is(err, multipart.ErrMessageTooLarge) || !isWriteError(err, f) {
			h.writeError(w, r, bodyError(err))
		} else {
			h.writeError(w, r, fmt.Errorf("spool upload: %w", err))
		}
		return 0
	}
	// The body is read: no read deadline while the registry imports (the
	// server's background read would cancel the request at it).
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	h.log.Debug("registryhttp: upload spooled", "name", name, "size", size, "took", time.Since(started))
	if !opts.DryRun {
		_ = h.importSpooled(w, r, f, name, size, opts)
		return 0
	}
	v, err := h.reg.ImportReaderAt(r.Context(), name, f, size, opts)
	if err != nil {
		h.writeError(w, r, err)
		return 0
	}
	// Keep the verified package, its spool still open, for its
	// confirmation, which then sends no bytes again.
	keep = true
	s := &staged{spool: sp, name: name, size: min(size, reserved), actor: opts.Actor, validate: !opts.SkipValidation}
	tok := h.stage.add(s)
	writeJSON(w, http.StatusOK, versionResponse{Version: versionJSON(v), DryRun: true, Staged: &stagedJSON{Token: tok, ExpiresAt: s.expires}})
	return s.size
}

// importSpooled imports a spooled package and answers with the version;
// it returns the import's error, already answered.
func (h *Handler) importSpooled(w http.ResponseWriter, r *http.Request, f *os.File, name string, size int64, opts *registry.ImportOptions) error {
	version, err := modelpkg.ParseFileName(name)
	if err != nil {
		h.writeError(w, r, err)
		return err
	}
	old, err := h.reg.Get(version)
	existed := err == nil && old.Valid
	v, err := h.reg.ImportReaderAt(r.Context(), name, f, size, opts)
	if err != nil {
		h.writeError(w, r, err)
		return err
	}
	if ow, ok := w.(*observedWriter); ok {
		ow.size = size
	}
	status := http.StatusCreated
	switch {
	case existed:
		status = http.StatusOK // the same package again: nothing changed
	default:
		h.log.Info("registryhttp: imported", "version", v.Version, "model_type", v.ModelType, "size", size, "actor", opts.Actor)
	}
	writeJSON(w, status, versionResponse{Version: versionJSON(v)})
	return nil
}

// uploadBufferSize is the size of the read and write buffers an upload
// is copied through.
const uploadBufferSize = 256 << 10

// spoolWriter returns the buffered writer an upload is spooled through:
// it writes to f in uploadBufferSize writes. Not through f's ReadFrom:
// bufio.Writer hands the copy to it whenever its buffer is empty, and
// *os.File's generic fallback writes whatever each Read returns, which
// from a multipart part is at most 4 KiB (262,144 write calls per GiB).
func spoolWriter(f io.Writer) *bufio.Writer {
	return bufio.NewWriterSize(writerOnly{f}, uploadBufferSize)
}

// writerOnly hides every method of a writer but Write (an *os.File's
// ReadFrom, here), so that io.Copy and bufio use their own buffers.
type writerOnly struct{ io.Writer }

// isWriteError reports whether err came from writing the spool file f
// (a server fault) rather than from reading the request.
func isWriteError(err error, f *os.File) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Path == f.Name()
}

// partFileName returns the file name a multipart part declares, exactly as
// sent: unlike multipart.Part.FileName it does not strip directories, so
// a name with a path in it is refused rather than quietly shortened.
func partFileName(part *multipart.Part) (string, error) {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return "", fmt.Errorf("%w: field \"file\": bad Content-Disposition: %w", errBadRequest, err)
	}
	name, ok := params["filename"]
	if !ok || name == "" {
		return "", fmt.Errorf("%w: field \"file\" must be a file upload with a file name", errBadRequest)
	}
	return name, nil
}

// bodyError classifies an error reading the request body: the size limit
// (413), or a malformed or cut-off body (400).
func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) || errors.Is(err, errSlow) {
		return err
	}
	return fmt.Errorf("%w: read upload: %w", errBadRequest, err)
}
