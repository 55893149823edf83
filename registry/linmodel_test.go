package registry_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The sequential model of one registry (one model lineage) that
// porcupine checks every history against: the versions with their
// validity, the deployed version and the stack of deployments a rollback
// returns through.

// linInput is an operation as a client called it.
type linInput struct {
	// Op is import, deploy, rollback, delete, validate, scan-registered,
	// scan-invalid or observe (a read of the whole state).
	Op      string
	Version string
}

// linOutput is what the operation returned.
type linOutput struct {
	// Unknown: the operation failed in a way that leaves its outcome
	// unknown (it may or may not have happened).
	Unknown bool
	// Err classifies a definite error ("" for success): not_found,
	// in_use, invalid, no_previous, exists, conflict, hash (a file
	// failed verification), rejected (validation failed).
	Err string
	// Noop: a deploy that found the version already deployed.
	Noop bool
	// From and To of a deploy or rollback event.
	From, To string
	// Verdict of a validate; VerdictKnown false when none was returned.
	Verdict, VerdictKnown bool
	// Observed is the projection of the observed state (observe only).
	Observed string
	// Detail is the error text, for the readable history.
	Detail string
}

// mstate is one state of the model. It is kept in porcupine as its
// canonical encoding (a string), so states compare and hash cheaply.
type mstate struct {
	valid    map[string]bool // present versions and whether they are valid
	deployed string
	stack    []string
}

func (s mstate) encode() string {
	var b strings.Builder
	for _, v := range slices.Sorted(maps.Keys(s.valid)) {
		b.WriteString(v)
		if s.valid[v] {
			b.WriteString("=ok ")
		} else {
			b.WriteString("=invalid ")
		}
	}
	b.WriteString("| deployed=" + s.deployed)
	b.WriteString(" | stack=" + strings.Join(s.stack, ","))
	return b.String()
}

// project is the part of the state the public API shows: versions, their
// validity and the deployed version.
func (s mstate) project() string {
	e := s.encode()
	return e[:strings.LastIndex(e, " | stack=")]
}

func decodeState(enc string) mstate {
	s := mstate{valid: map[string]bool{}}
	parts := strings.Split(enc, "|")
	for _, f := range strings.Fields(parts[0]) {
		v, st, _ := strings.Cut(f, "=")
		s.valid[v] = st == "ok"
	}
	s.deployed = strings.TrimPrefix(strings.TrimSpace(parts[1]), "deployed=")
	if st := strings.TrimPrefix(strings.TrimSpace(parts[2]), "stack="); st != "" {
		s.stack = strings.Split(st, ",")
	}
	return s
}

func (s mstate) clone() mstate {
	return mstate{valid: maps.Clone(s.valid), deployed: s.deployed, stack: slices.Clone(s.stack)}
}

func (s mstate) present(v string) bool { _, ok := s.valid[v]; return ok }

// imported: an import (or a scan) registered v as valid.
func (s mstate) imported(v string) mstate {
	c := s.clone()
	c.valid[v] = true
	return c
}

func (s mstate) withValidity(v string, ok bool) mstate {
	c := s.clone()
	c.valid[v] = ok
	return c
}

func (s mstate) deploy(v string) mstate {
	c := s.clone()
	c.deployed = v
	c.stack = append(c.stack, v)
	return c
}

// previous is the version a rollback returns to: the latest deployment
// below the top of the stack that is still registered, valid and not the
// deployed one.
func (s mstate) previous() string {
	for i := len(s.stack) - 2; i >= 0; i-- {
		v := s.stack[i]
		if s.valid[v] && v != s.deployed {
			return v
		}
	}
	return ""
}

func (s mstate) rollback(to string) mstate {
	c := s.clone()
	c.deployed = to
	i := -1
	for j := len(c.stack) - 2; j >= 0; j-- {
		if c.stack[j] == to {
			i = j
			break
		}
	}
	if i >= 0 {
		c.stack = c.stack[:i+1]
	} else {
		c.stack = append(c.stack, to)
	}
	return c
}

func (s mstate) remove(v string) mstate {
	c := s.clone()
	delete(c.valid, v)
	c.stack = slices.DeleteFunc(c.stack, func(x string) bool { return x == v })
	return c
}

// step returns the states the operation can lead to from s, or none when
// its output is impossible in s.
func (s mstate) step(in linInput, out linOutput) []mstate {
	v := in.Version
	same := []mstate{s}
	switch in.Op {
	case "import":
		next := s
		if !s.valid[v] {
			next = s.imported(v)
		}
		switch {
		case out.Unknown:
			return []mstate{s, next}
		case out.Err == "":
			return []mstate{next}
		case out.Err == "exists" && !s.valid[v]:
			// Files a deletion left behind, or an invalid version's.
			return same
		case out.Err == "conflict", out.Err == "hash", out.Err == "rejected":
			// Conflict: another import holds the claim. Hash or
			// rejected: the store lost files of this import (its claim
			// was taken over after the lease): no effect.
			return same
		}
	case "deploy":
		can := s.valid[v] && s.deployed != v
		switch {
		case out.Unknown:
			if can {
				return []mstate{s, s.deploy(v)}
			}
			return same
		case out.Err == "" && out.Noop:
			if s.deployed == v {
				return same
			}
		case out.Err == "":
			if can && out.From == s.deployed && out.To == v {
				return []mstate{s.deploy(v)}
			}
		case out.Err == "not_found" && !s.present(v),
			out.Err == "invalid" && s.present(v) && !s.valid[v]:
			return same
		case out.Err == "hash" && s.present(v) && s.deployed != v:
			return []mstate{s, s.withValidity(v, false)}
		case out.Err == "conflict":
			return same
		}
	case "rollback":
		to := s.previous()
		switch {
		case out.Unknown:
			if to != "" {
				return []mstate{s, s.rollback(to)}
			}
			return same
		case out.Err == "":
			if to != "" && out.To == to && out.From == s.deployed {
				return []mstate{s.rollback(to)}
			}
		case (out.Err == "no_previous" || out.Err == "not_found") && to == "":
			return same
		case out.Err == "hash" && to != "":
			return []mstate{s, s.withValidity(to, false)}
		case out.Err == "conflict":
			return same
		}
	case "delete":
		can := s.present(v) && s.deployed != v
		switch {
		case out.Unknown:
			if can {
				return []mstate{s, s.remove(v)}
			}
			return same
		case out.Err == "":
			if can {
				return []mstate{s.remove(v)}
			}
		case out.Err == "not_found" && !s.present(v),
			out.Err == "in_use" && s.deployed == v && v != "",
			out.Err == "conflict":
			return same
		}
	case "validate":
		switch {
		case out.Unknown:
			if !s.present(v) {
				return same
			}
			if out.VerdictKnown {
				return []mstate{s, s.withValidity(v, out.Verdict)}
			}
			return []mstate{s, s.withValidity(v, true), s.withValidity(v, false)}
		case out.Err == "":
			if s.present(v) {
				return []mstate{s.withValidity(v, out.Verdict)}
			}
		case out.Err == "not_found" && !s.present(v):
			return same
		}
	case "scan-registered":
		if !s.valid[v] {
			return []mstate{s.imported(v)}
		}
	case "scan-invalid":
		if !s.present(v) {
			return []mstate{s.withValidity(v, false)}
		}
		return same
	case "observe":
		if s.project() == out.Observed {
			return same
		}
	}
	return nil
}

// registryModel is the porcupine model of a registry.
var registryModel = porcupine.NondeterministicModel{
	Init: func() []any { return []any{mstate{valid: map[string]bool{}}.encode()} },
	Step: func(state, input, output any) []any {
		s := decodeState(state.(string))
		var out []any
		for _, n := range s.step(input.(linInput), output.(linOutput)) {
			out = append(out, n.encode())
		}
		return out
	},
	DescribeOperation: func(input, output any) string { return describeOp(input.(linInput), output.(linOutput)) },
	DescribeState:     func(state any) string { return state.(string) },
}

func describeOp(in linInput, out linOutput) string {
	s := in.Op
	if in.Version != "" {
		s += "(" + in.Version + ")"
	}
	switch {
	case out.Unknown:
		s += " -> unknown"
	case in.Op == "observe":
		s += " -> " + out.Observed
	case out.Err != "":
		s += " -> " + out.Err
	case out.Noop:
		s += " -> no-op"
	case out.To != "":
		s += fmt.Sprintf(" -> %s→%s", out.From, out.To)
	case in.Op == "validate":
		s += fmt.Sprintf(" -> valid=%v", out.Verdict)
	default:
		s += " -> ok"
	}
	if out.Detail != "" {
		s += " [" + out.Detail + "]"
	}
	return s
}
