package pickle

import (
	"errors"
	"fmt"
)

// Kind classifies why a file was rejected.
type Kind int

// The kinds of rejection.
const (
	// KindInvalid: the file is not a pickle or joblib file the machine can
	// parse: truncated, trailing data, oversized lengths, malformed
	// opcodes, an unsupported construct or a wrong root object.
	KindInvalid Kind = iota + 1
	// KindUnsafe: a loader could run code or crash: a global outside the
	// allowlist, a call or BUILD that breaks its schema, a construct that
	// runs code by design.
	KindUnsafe
	// KindLimit: a loader would allocate or expand more than the budget
	// or a limit allows.
	KindLimit
)

// String returns "invalid", "unsafe" or "limit".
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnsafe:
		return "unsafe"
	case KindLimit:
		return "limit"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Sentinels matched by errors.Is on an *Error of the same kind.
var (
	ErrInvalid = errors.New("pickle: invalid pickle")
	ErrUnsafe  = errors.New("pickle: unsafe pickle")
	ErrLimit   = errors.New("pickle: resource limit exceeded")
)

// Error is the error Scan and Load return when they reject a file.
// errors.Is(err, ErrUnsafe), ErrInvalid or ErrLimit tells the kind.
type Error struct {
	Kind Kind
	// Global is the offending global, when the rejection is about one.
	Global Global
	// Node describes the node of the value graph the rule applies to
	// (such as "sklearn.linear_model._logistic.LogisticRegression#3"),
	// empty for rejections of the byte stream itself.
	Node string
	// Rule names the policy rule that was broken (such as
	// "build-schema"), empty for parse errors.
	Rule string
	// Offset is the offset in the (decompressed) pickle stream at which
	// the problem was found.
	Offset int64
	// Msg describes the problem.
	Msg string
	// soft marks an ErrInvalid that CPython's unpicklers might not
	// raise at the same point (a rule stricter than CPython's): under a
	// second loader it cannot count as a safe failure.
	soft bool
}

// Error returns "pickle: unsafe pickle: node: rule: ... (at offset N)".
func (e *Error) Error() string {
	s := fmt.Sprintf("pickle: %s pickle: ", e.Kind)
	if e.Kind == KindLimit {
		s = "pickle: resource limit exceeded: "
	}
	if e.Node != "" {
		s += e.Node + ": "
	}
	if e.Rule != "" {
		s += "rule " + e.Rule + ": "
	}
	return fmt.Sprintf("%s%s (at offset %d)", s, e.Msg, e.Offset)
}

// Unwrap returns ErrUnsafe, ErrInvalid or ErrLimit.
func (e *Error) Unwrap() error {
	switch e.Kind {
	case KindUnsafe:
		return ErrUnsafe
	case KindLimit:
		return ErrLimit
	}
	return ErrInvalid
}
