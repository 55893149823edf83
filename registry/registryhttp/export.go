package registryhttp

import (
	"net/http"

	"github.com/modelvault/modelvault/modelpkg"
)

// serveExport streams a stored version as a package: GET
// /models/{version}/package. Every file is verified as it is read; a
// file that fails after the answer has started cuts the download off
// (the client never gets a complete archive of a tampered version).
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, _ string) {
	version := r.PathValue("version")
	zw := &lazyZipWriter{w: w, name: modelpkg.FileName(version)}
	err := h.reg.Export(r.Context(), version, zw)
	switch {
	case err == nil:
		if !zw.started {
			zw.start()
		}
	case !zw.started:
		h.writeError(w, r, err)
	default:
		h.log.Error("registryhttp: export failed after it started; download cut off", "version", version, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// lazyZipWriter sets the download's headers at its first byte, so that an
// error before it can still be answered in JSON.
type lazyZipWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (z *lazyZipWriter) start() {
	z.started = true
	hdr := z.w.Header()
	hdr.Set("Content-Type", "application/zip")
	hdr.Set("Content-Disposition", `attachment; filename="`+z.name+`"`)
	z.w.WriteHeader(http.StatusOK)
}

func (z *lazyZipWriter) Write(p []byte) (int, error) {
	if !z.started {
		z.start()
	}
	return z.w.Write(p)
}
