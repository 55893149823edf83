package picklescan

import (
	"errors"
	"fmt"
)

// Kind classifies why a file was rejected.
type Kind int

// The kinds of rejection.
const (
	// KindInvalid: the file is not a pickle or joblib file the scanner can
	// prove safe: truncated, trailing data, oversized lengths, malformed
	// opcodes, an unsupported construct, a wrong root object or a
	// resource limit.
	KindInvalid Kind = iota + 1
	// KindUnsafe: the file names a global outside the allowlist, or uses a
	// construct that runs code by design (extension codes, calls on
	// values that are not allow-listed globals).
	KindUnsafe
)

// String returns "invalid" or "unsafe".
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnsafe:
		return "unsafe"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Sentinels matched by errors.Is on an *Error of the same kind.
var (
	ErrInvalid = errors.New("picklescan: invalid pickle")
	ErrUnsafe  = errors.New("picklescan: unsafe pickle")
)

// Error is the error Scan returns when it rejects a file. errors.Is(err,
// ErrUnsafe) or errors.Is(err, ErrInvalid) tells the kind.
type Error struct {
	Kind Kind
	// Global is the offending global for KindUnsafe rejections that are
	// about one (zero otherwise).
	Global Global
	// Offset is the offset in the (decompressed) pickle stream at which
	// the problem was found.
	Offset int64
	// Msg describes the problem, naming module and name where there is one.
	Msg string
}

// Error returns "picklescan: unsafe pickle: ... (at offset N)".
func (e *Error) Error() string {
	return fmt.Sprintf("picklescan: %s pickle: %s (at offset %d)", e.Kind, e.Msg, e.Offset)
}

// Unwrap returns ErrUnsafe or ErrInvalid.
func (e *Error) Unwrap() error {
	if e.Kind == KindUnsafe {
		return ErrUnsafe
	}
	return ErrInvalid
}
