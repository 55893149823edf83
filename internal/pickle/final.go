package pickle

import "fmt"

// policy runs the checks that need the final graph: the root, arrays
// that were never given a state, the value types of every instance's
// state, and the expanded size of the graph.
func (m *machine) policy(root Value, checkRoot bool) error {
	bad := func(p any, rule, format string, args ...any) error {
		return &Error{Kind: KindUnsafe, Node: m.describe(p), Rule: rule, Offset: m.in.pos, Msg: fmt.Sprintf(format, args...)}
	}
	for _, p := range m.nodes {
		switch x := p.(type) {
		case *Array:
			if x.Dtype == nil {
				return bad(x, "ndarray-state", "an array made by _reconstruct was never given its state")
			}
			if err := m.checkItems(x, x.Objects); err != nil {
				return err
			}
		case *wrapper:
			if m.opts.Plain || m.meta[x].built {
				continue // read by joblib, or inert under pickle.load
			}
			return bad(x, "array-wrapper", "a NumpyArrayWrapper was never built")
		case *Object:
			if err := m.checkState(x); err != nil {
				return err
			}
		case *List:
			if err := m.checkItems(x, x.Items); err != nil {
				return err
			}
		case *Tuple:
			if err := m.checkItems(x, x.Items); err != nil {
				return err
			}
		case *Set:
			if err := m.checkItems(x, x.Items); err != nil {
				return err
			}
		case *Dict:
			if err := m.checkItems(x, x.Vals); err != nil {
				return err
			}
		}
	}
	if checkRoot {
		o, ok := root.(*Object)
		if !ok {
			return &Error{Kind: KindInvalid, Rule: "root", Offset: m.in.pos, Msg: fmt.Sprintf("root object is a %s, want an instance of an allow-listed model class", typeName(root))}
		}
		c := m.class(o.Class)
		if c == nil || !c.root {
			return &Error{Kind: KindInvalid, Rule: "root", Node: m.describe(o), Offset: m.in.pos, Msg: fmt.Sprintf("root object is an instance of %s, which is not a model class", o.Class)}
		}
		m.res.Root = o.Class
	}
	// The expanded size: what a recursive walk of the graph (a deep copy,
	// a repr) would visit, shared nodes counted once per path.
	memo := make(map[any]int64)
	n, deep := expanded(root, memo, m.opts.Budget, 0)
	if deep {
		return &Error{Kind: KindLimit, Rule: "max-depth", Offset: m.in.pos, Msg: fmt.Sprintf("the graph is nested deeper than %d levels", maxDepth)}
	}
	if err := m.charge(min(n, m.opts.Budget/64+1)*64, "expanded graph"); err != nil {
		e := err.(*Error)
		e.Rule = "expanded-size"
		return e
	}
	return nil
}

// maxDepth bounds the nesting of the graph (real models nest a few tens
// of levels; Python's own recursion limit is 1000).
const maxDepth = 10000

// expanded returns the number of nodes a tree walk of v visits, at most
// limit; nodes on the current path count once (cycles). deep reports a
// nesting beyond maxDepth.
func expanded(v Value, memo map[any]int64, limit int64, depth int) (n int64, deep bool) {
	kids, ok := children(v)
	if !ok {
		return 1, false
	}
	if n, ok := memo[v]; ok {
		return n, false
	}
	if depth > maxDepth {
		return 0, true
	}
	memo[v] = 1 // a cycle back here counts once
	n = 1
	for _, k := range kids {
		c, deep := expanded(k, memo, limit, depth+1)
		if deep {
			return 0, true
		}
		n += c
		if n > limit {
			n = limit
			break
		}
	}
	memo[v] = n
	return n, false
}

// children returns the values a container, instance or object array
// holds (dict keys and values, an instance's arguments and state), and
// whether v is such a node at all.
func children(v Value) ([]Value, bool) {
	switch x := v.(type) {
	case *List:
		return x.Items, true
	case *Tuple:
		return x.Items, true
	case *Set:
		return x.Items, true
	case *Dict:
		return append(append([]Value(nil), x.Keys...), x.Vals...), true
	case *Object:
		return append(append([]Value(nil), x.Args...), x.State), true
	case *Array:
		return x.Objects, true
	}
	return nil, false
}

// checkState checks the value types of an instance's state: plain data,
// arrays, dtypes, numpy scalars, value globals and instances of allowed
// classes; _sklearn_version a str.
func (m *machine) checkState(o *Object) error {
	if check := stateChecks[o.Class]; check != nil {
		if why := check(o); why != "" {
			return &Error{Kind: KindUnsafe, Node: m.describe(o), Rule: "state-schema", Offset: m.in.pos, Msg: why}
		}
	}
	d, ok := o.State.(*Dict)
	if !ok {
		return nil
	}
	for i, k := range d.Keys {
		v := d.Vals[i]
		if k == "_sklearn_version" {
			if _, ok := v.(string); !ok {
				return &Error{Kind: KindUnsafe, Node: m.describe(o), Rule: "state-type", Offset: m.in.pos,
					Msg: fmt.Sprintf("_sklearn_version is a %s, want a str: scikit-learn formats it in a warning", typeName(v))}
			}
		}
		if err := m.checkValue(o, k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkValue rejects state values that are not inert data. Containers
// are checked shallowly here; their own items are reached through the
// nodes list or are plain values.
func (m *machine) checkValue(o *Object, key, v Value) error {
	switch x := v.(type) {
	case *wrapper:
		if m.opts.Plain {
			return &Error{Kind: KindUnsafe, Node: m.describe(o), Rule: "state-type", Offset: m.in.pos,
				Msg: fmt.Sprintf("state %v holds a joblib NumpyArrayWrapper, which pickle.load does not turn into an array", key)}
		}
	case Global:
		if !valueGlobals[x] {
			return &Error{Kind: KindUnsafe, Node: m.describe(o), Global: x, Rule: "state-type", Offset: m.in.pos,
				Msg: fmt.Sprintf("state %v holds the callable %s", key, x)}
		}
	}
	return nil
}

// checkItems rejects callables kept in containers: a consumer could call
// them.
func (m *machine) checkItems(p any, items []Value) error {
	for _, it := range items {
		if g, ok := it.(Global); ok && !valueGlobals[g] && !classArgs[g] {
			return &Error{Kind: KindUnsafe, Node: m.describe(p), Global: g, Rule: "state-type", Offset: m.in.pos,
				Msg: fmt.Sprintf("holds the callable %s", g)}
		}
	}
	return nil
}

// finish returns the approved graph. Every node is already of a Value
// type; a NumpyArrayWrapper left by pickle.load semantics is inert.
func (m *machine) finish(root Value) Value { return root }

// stateChecks are the value schemas of classes whose state a loader
// allocates from or calls into; "" when the state is fine.
var stateChecks = map[Global]func(o *Object) string{
	gRandomState: func(o *Object) string {
		d, ok := o.State.(*Dict)
		if !ok {
			return "a RandomState needs its state dict"
		}
		bg, _ := d.Get("bit_generator")
		st, _ := d.Get("state")
		sd, ok := st.(*Dict)
		if bg != "MT19937" || !ok || len(sd.Keys) != 2 {
			return "RandomState state must be MT19937's {key, pos}"
		}
		key, _ := sd.Get("key")
		pos, _ := sd.Get("pos")
		a, ok := key.(*Array)
		p, ok2 := pos.(int64)
		if !ok || a.Dtype == nil || a.Dtype.Kind != 'u' || a.Dtype.ItemSize != 4 || a.Len() != 624 || !ok2 || p < 0 || p > 624 {
			return "MT19937 state must be a key of 624 uint32 and a pos in 0..624"
		}
		return ""
	},
	{"sklearn.tree._tree", "Tree"}: func(o *Object) string {
		nOut, _ := o.Args[2].(int64)
		nFeat, _ := o.Args[0].(int64)
		classes := o.Args[1].(*Array)
		if nOut < 1 || nOut > 1<<16 || classes.Len() != int(nOut) || nFeat < 0 || nFeat > 1<<31 {
			return "Tree(n_features, n_classes, n_outputs) must have n_outputs = len(n_classes) <= 65536"
		}
		d, ok := o.State.(*Dict)
		if !ok {
			return "a Tree needs its state dict"
		}
		nodes, _ := d.Get("nodes")
		count, _ := d.Get("node_count")
		depth, _ := d.Get("max_depth")
		a, ok := nodes.(*Array)
		n, ok2 := count.(int64)
		dp, ok3 := depth.(int64)
		if !ok || a.Dtype == nil || a.Dtype.Kind != 'V' || !ok2 || int64(a.Len()) != n || !ok3 || dp < 0 || dp > n {
			return "Tree state: node_count must equal the length of the structured nodes array, max_depth within it"
		}
		return ""
	},
	{"sklearn.preprocessing._function_transformer", "FunctionTransformer"}: func(o *Object) string {
		for _, k := range []string{"func", "inverse_func"} {
			if v, ok := o.Attr(k); ok && v != nil {
				return "FunctionTransformer " + k + " must be None (the passthrough scikit-learn makes): it would call it"
			}
		}
		return ""
	},
}
