package modelpkg

import "errors"

// Error is the type of this package's sentinel errors. Each carries a
// stable, machine-readable code (see [Code]) that modelctl --json and the
// validate package report as a finding's code.
type Error struct {
	code string
	msg  string
}

// NewError returns a sentinel error with a stable code. Other packages in
// this module use it so that [Code] works for their sentinels too.
func NewError(code, msg string) *Error { return &Error{code: code, msg: msg} }

// Error returns the sentinel's message.
func (e *Error) Error() string { return e.msg }

// Code returns the sentinel's stable code, e.g. "hash_mismatch".
func (e *Error) Code() string { return e.code }

// Sentinel errors. Every rejection wraps exactly one of them, so that
// errors.Is(err, modelpkg.ErrUnsafePath) and friends work, and [Code]
// gives the stable code string.
var (
	ErrInvalidName     = NewError("invalid_name", "modelpkg: invalid package name")
	ErrInvalidArchive  = NewError("invalid_archive", "modelpkg: invalid archive")
	ErrUnsafePath      = NewError("unsafe_path", "modelpkg: unsafe path")
	ErrUnsafeEntryType = NewError("unsafe_entry_type", "modelpkg: unsafe entry type")
	ErrDuplicateEntry  = NewError("duplicate_entry", "modelpkg: duplicate entry")
	ErrResourceLimit   = NewError("resource_limit", "modelpkg: resource limit exceeded")
	ErrMissingFile     = NewError("missing_file", "modelpkg: missing file")
	ErrInvalidMetadata = NewError("invalid_metadata", "modelpkg: invalid metadata")
	ErrInvalidManifest = NewError("invalid_manifest", "modelpkg: invalid manifest")
	ErrHashMismatch    = NewError("hash_mismatch", "modelpkg: hash mismatch")
	// ErrIgnoredEntry is the code of a warning, not a rejection: an
	// entry Open deliberately left out (see [Package.Warnings]).
	ErrIgnoredEntry = NewError("ignored_entry", "modelpkg: ignored entry")
	// ErrNormalizedName is the code of a warning too: an entry name Open
	// rewrote to its canonical form (bsdtar's leading "./").
	ErrNormalizedName = NewError("normalized_name", "modelpkg: normalized entry name")
)

// Code returns the stable code of the first error in err's tree that has
// one (any error with a Code() string method, such as this package's
// sentinels), or "" if none does.
func Code(err error) string {
	var c interface{ Code() string }
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}
