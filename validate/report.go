package validate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/modelvault/modelvault/modelpkg"
)

// Severity says whether a finding rejects a package.
type Severity string

// The two severities. An error makes a package invalid; a warning does not.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one problem found in a package. Its JSON form is the one
// modelctl --json prints and the HTTP API returns.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is a stable machine-readable code such as "hash_mismatch"
	// (see modelpkg.Code).
	Code string `json:"code"`
	// Path is the file the finding is about, relative to the package root,
	// or "" for the package as a whole.
	Path string `json:"path"`
	// Message is a human-readable sentence.
	Message string `json:"message"`
	// Err is the underlying error (it wraps the sentinel, so errors.Is
	// works). It is not part of the JSON form.
	Err error `json:"-"`
}

// Error implements error, so a Finding can be returned and matched.
func (f Finding) Error() string {
	if f.Path != "" && !strings.Contains(f.Message, f.Path) {
		return f.Path + ": " + f.Message
	}
	return f.Message
}

// Unwrap returns the underlying error.
func (f Finding) Unwrap() error { return f.Err }

// Report collects findings. The zero value is ready to use. A Report is
// not safe for concurrent use; [All] gives each validator its own and
// merges them.
type Report struct {
	Findings []Finding `json:"findings"`
	// ModelType is the class of the model the test load loaded
	// ([ModelLoad]), the specification's model_type; "" when not loaded.
	ModelType string `json:"model_type,omitempty"`
	// Signer is the package's verified signer, set by [Signature]; nil
	// when the package is unsigned or its signature was rejected.
	Signer *Signer `json:"signer,omitempty"`
}

// Add records a finding. If f.Code is empty it is taken from f.Err.
func (r *Report) Add(f Finding) {
	if f.Code == "" && f.Err != nil {
		f.Code = modelpkg.Code(f.Err)
	}
	if f.Message == "" && f.Err != nil {
		f.Message = f.Err.Error()
	}
	r.Findings = append(r.Findings, f)
}

// Errorf records an error finding about path that wraps sentinel.
func (r *Report) Errorf(sentinel error, path, format string, args ...any) {
	r.Add(Finding{
		Severity: SeverityError,
		Path:     path,
		Message:  fmt.Sprintf(format, args...),
		Err:      sentinel,
	})
}

// Warnf records a warning finding about path with the given code.
func (r *Report) Warnf(sentinel error, path, format string, args ...any) {
	r.Add(Finding{
		Severity: SeverityWarning,
		Path:     path,
		Message:  fmt.Sprintf(format, args...),
		Err:      sentinel,
	})
}

// AddError records err as an error finding about path. The code comes
// from err (see modelpkg.Code).
func (r *Report) AddError(path string, err error) {
	r.Add(Finding{Severity: SeverityError, Path: path, Err: err})
}

// Merge appends all of other's findings.
func (r *Report) Merge(other *Report) {
	if other != nil {
		r.Findings = append(r.Findings, other.Findings...)
		if other.ModelType != "" {
			r.ModelType = other.ModelType
		}
		if other.Signer != nil {
			r.Signer = other.Signer
		}
	}
}

// Valid reports whether the report has no error findings.
func (r *Report) Valid() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return false
		}
	}
	return true
}

// Errors returns the error findings.
func (r *Report) Errors() []Finding { return r.filter(SeverityError) }

// Warnings returns the warning findings.
func (r *Report) Warnings() []Finding { return r.filter(SeverityWarning) }

func (r *Report) filter(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Err returns nil if the report is valid, and otherwise an error that
// aggregates every error finding; errors.Is(err, sentinel) is true for
// each finding's sentinel, and errors.As finds the *[Error] carrying the
// findings.
func (r *Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	var m *multierror.Error
	for _, f := range errs {
		m = multierror.Append(m, f)
	}
	m.ErrorFormat = func(es []error) string {
		parts := make([]string, len(es))
		for i, e := range es {
			parts[i] = e.Error()
		}
		if len(parts) == 1 {
			return "validation failed: " + parts[0]
		}
		return fmt.Sprintf("validation failed with %d errors: %s", len(parts), strings.Join(parts, "; "))
	}
	return &Error{Findings: append([]Finding(nil), r.Findings...), err: m}
}

// MarshalJSON writes the findings as a JSON array (never null).
func (r *Report) MarshalJSON() ([]byte, error) {
	fs := r.Findings
	if fs == nil {
		fs = []Finding{}
	}
	return json.Marshal(struct {
		Findings  []Finding `json:"findings"`
		ModelType string    `json:"model_type,omitempty"`
		Signer    *Signer   `json:"signer,omitempty"`
	}{fs, r.ModelType, r.Signer})
}

// Error is the error returned by [Report.Err]. It carries every finding
// (warnings included) so that callers can show them.
type Error struct {
	Findings []Finding
	err      error
}

// Error returns a one-line summary of the error findings.
func (e *Error) Error() string { return e.err.Error() }

// Unwrap exposes the aggregated findings to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.err }
