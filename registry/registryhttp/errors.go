package registryhttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string             `json:"code"`
	Message  string             `json:"message"`
	Findings []validate.Finding `json:"findings"`
}

// Errors the handler makes itself.
var (
	errBadRequest = modelpkg.NewError("bad_request", "registryhttp: bad request")
	errTooLarge   = modelpkg.NewError("too_large", "registryhttp: upload too large")
	errNoRoute    = modelpkg.NewError("not_found", "registryhttp: no such endpoint")
	errMethod     = modelpkg.NewError("method_not_allowed", "registryhttp: method not allowed")
	errClosed     = modelpkg.NewError("unavailable", "registryhttp: shutting down")
)

// statusOf maps an error to its HTTP status. The mapping is documented in
// doc.go and in the OpenAPI document; keep the three in step.
func statusOf(err error) int {
	var verr *validate.Error
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &verr):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, errNoAuthorizer), errors.Is(err, errCrossOrigin):
		return http.StatusForbidden
	case errors.Is(err, errNoRoute), errors.Is(err, registry.ErrNotFound), errors.Is(err, errUnknownToken):
		return http.StatusNotFound
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errBadRequest), errors.Is(err, modelpkg.ErrInvalidName):
		return http.StatusBadRequest
	case errors.Is(err, registry.ErrVersionExists), errors.Is(err, registry.ErrInUse),
		errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrInvalid),
		errors.Is(err, registry.ErrNoPrevious):
		return http.StatusConflict
	case errors.Is(err, modelpkg.ErrInvalidArchive), errors.Is(err, modelpkg.ErrUnsafePath),
		errors.Is(err, modelpkg.ErrUnsafeEntryType), errors.Is(err, modelpkg.ErrDuplicateEntry),
		errors.Is(err, modelpkg.ErrResourceLimit), errors.Is(err, modelpkg.ErrMissingFile),
		errors.Is(err, modelpkg.ErrInvalidMetadata), errors.Is(err, modelpkg.ErrInvalidManifest),
		errors.Is(err, modelpkg.ErrHashMismatch), errors.Is(err, registry.ErrLoad):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errHost):
		return http.StatusMisdirectedRequest
	case errors.Is(err, errSlow):
		return http.StatusRequestTimeout
	case errors.Is(err, errTokenExpired):
		return http.StatusGone
	case errors.Is(err, errBusy), errors.Is(err, registry.ErrClosed), errors.Is(err, errClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError writes err as a JSON error. Server faults are logged and
// answered with a generic message.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if r.ContentLength != 0 && status >= 400 {
		// A refused request's body is not read; without this, Go's
		// server would read up to 256 KiB of it before answering, which a
		// client trickling its body turns into a connection held open.
		w.Header().Set("Connection", "close")
		// Nor after: Go's server drains a body under 256 KiB when the
		// request ends; a deadline already passed makes that drain fail
		// at once instead of waiting on a client that trickles.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	d := errorDetail{Code: modelpkg.Code(err), Message: err.Error(), Findings: []validate.Finding{}}
	var verr *validate.Error
	switch {
	case status == http.StatusInternalServerError:
		if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
			// The client went away; nobody reads this answer.
			h.log.Debug("registryhttp: request canceled", "method", r.Method, "path", r.URL.Path)
		} else {
			h.log.Error("registryhttp: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		d.Code, d.Message = "internal", "internal server error"
	case status == http.StatusRequestEntityTooLarge:
		d.Code = errTooLarge.Code()
		d.Message = "upload exceeds the limit of " + humanSize(h.maxUpload)
	case errors.As(err, &verr):
		d.Code = "validation_failed"
		d.Findings = append(d.Findings, verr.Findings...)
	case status == http.StatusUnprocessableEntity && d.Code != registry.ErrLoad.Code():
		// A package rejected before validation (unsafe path, bad archive,
		// hash mismatch while extracting): the one finding is the error.
		d.Findings = append(d.Findings, validate.Finding{Severity: validate.SeverityError, Code: d.Code, Message: err.Error()})
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="modelvault"`)
	}
	if d.Code == "" {
		d.Code = http.StatusText(status)
	}
	if ow, ok := w.(*observedWriter); ok {
		ow.code = d.Code
	}
	writeJSON(w, status, errorBody{Error: d})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// humanSize formats n bytes for people: "100 MiB", "1.5 GiB", "512 B".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)
	v = strings.TrimSuffix(v, ".0")
	return v + " " + string("KMGTPE"[exp]) + "iB"
}
