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

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
)

// serveImport streams the multipart field "file" to a temporary file and
// imports it. The part's file name is checked before a byte of its body
// is read, and the whole request body is bounded by MaxUploadSize.
func (h *Handler) serveImport(w http.ResponseWriter, r *http.Request, actor string) {
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
	ctype, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ctype != "multipart/form-data" || params["boundary"] == "" {
		h.writeError(w, r, fmt.Errorf("%w: want a multipart/form-data body with a field \"file\"", errBadRequest))
		return
	}
	// multipart.Reader reads through a 4 KiB buffer; a larger one in
	// front of the connection saves most of the read system calls of a
	// large upload.
	body := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, h.maxUpload), uploadBufferSize)
	mr := multipart.NewReader(body, params["boundary"])
	opts := &registry.ImportOptions{
		Caller:         caller(r, actor),
		Model:          q.Get("model"),
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
		h.importPart(w, r, part, opts)
		return
	}
}

// importPart checks the part's file name, spools its body and imports it.
func (h *Handler) importPart(w http.ResponseWriter, r *http.Request, part *multipart.Part, opts *registry.ImportOptions) {
	name, err := partFileName(part)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	version, err := modelpkg.ParseFileName(name)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	f, err := os.CreateTemp(h.opts.TempDir, "modelvault-upload-*.zip")
	if err != nil {
		h.writeError(w, r, fmt.Errorf("spool upload: %w", err))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	started := time.Now()
	bw := bufio.NewWriterSize(f, uploadBufferSize)
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
		return
	}
	h.log.Debug("registryhttp: upload spooled", "name", name, "size", size, "took", time.Since(started))
	old, err := h.reg.Get(version)
	existed := err == nil && old.Valid
	v, err := h.reg.ImportReaderAt(r.Context(), name, f, size, opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	switch {
	case opts.DryRun:
		status = http.StatusOK
	case existed:
		status = http.StatusOK // the same package again: nothing changed
	default:
		h.log.Info("registryhttp: imported", "version", v.Version, "model", v.Model, "size", size, "actor", opts.Actor)
	}
	writeJSON(w, status, versionResponse{Version: versionJSON(v), DryRun: opts.DryRun})
}

// uploadBufferSize is the size of the read and write buffers an upload
// is copied through.
const uploadBufferSize = 256 << 10

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
	if errors.As(err, &maxErr) {
		return err
	}
	return fmt.Errorf("%w: read upload: %w", errBadRequest, err)
}
