package faultstore

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Rule is one kind of fault a [Nemesis] injects at random.
type Rule struct {
	// Mode is the fault. A mode that does not apply to a call's kind
	// never fires on it.
	Mode Mode
	// P is the probability, from 0 to 1, that a matching call gets the
	// fault.
	P float64
	// Kind restricts the rule to calls of one kind; KindAny matches all.
	Kind Kind
	// KeyPrefix, when set, restricts the rule to keys (List prefixes)
	// that start with it.
	KeyPrefix string
	// OnlyConditional restricts the rule to Puts with IfNotExist (the
	// commit points of a registry).
	OnlyConditional bool
	// Delay is the longest wait of ModeDelay; each delayed call waits a
	// uniformly random time up to it.
	Delay time.Duration
}

func (r Rule) matches(c Call) bool {
	switch {
	case !applies(r.Mode, c.Kind):
		return false
	case r.Kind != KindAny && r.Kind != c.Kind:
		return false
	case r.KeyPrefix != "" && !strings.HasPrefix(c.Key, r.KeyPrefix):
		return false
	case r.OnlyConditional && !c.Conditional:
		return false
	}
	return true
}

// Nemesis injects faults at random by [Rule]s, from a seed, into the
// calls of every [Store] it is given to ([Store.SetNemesis]). For one
// sequence of calls and one seed, it makes the same choices. It starts
// enabled.
type Nemesis struct {
	mu      sync.Mutex
	rng     *rand.Rand
	rules   []Rule
	off     bool
	counts  map[Mode]int
	matched int
}

// NewNemesis returns a Nemesis seeded with seed that applies rules.
func NewNemesis(seed uint64, rules ...Rule) *Nemesis {
	return &Nemesis{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		rules:  append([]Rule(nil), rules...),
		counts: map[Mode]int{},
	}
}

// SetRules replaces the rules.
func (n *Nemesis) SetRules(rules ...Rule) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rules = append([]Rule(nil), rules...)
}

// SetEnabled turns injection on or off; calls made while it is off are
// not faulted and draw nothing from the random source.
func (n *Nemesis) SetEnabled(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.off = !on
}

// Counts returns how many faults of each mode were injected so far.
func (n *Nemesis) Counts() map[Mode]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[Mode]int, len(n.counts))
	for m, c := range n.counts {
		out[m] = c
	}
	return out
}

// Calls returns how many calls the Nemesis judged while enabled.
func (n *Nemesis) Calls() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.matched
}

// choose picks the fault for c: the first rule (in order) that matches
// c and whose draw falls under its P.
func (n *Nemesis) choose(c Call) (Mode, time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.off {
		return "", 0
	}
	n.matched++
	for _, r := range n.rules {
		if !r.matches(c) || r.P <= 0 {
			continue
		}
		if n.rng.Float64() >= r.P {
			continue
		}
		n.counts[r.Mode]++
		var d time.Duration
		if r.Mode == ModeDelay && r.Delay > 0 {
			d = time.Duration(n.rng.Int64N(int64(r.Delay) + 1))
		}
		return r.Mode, d
	}
	return "", 0
}
