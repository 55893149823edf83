package picklescan

// vkind is the type of a symbolic value on the unpickler's stack.
type vkind uint8

const (
	kMark vkind = iota
	kNone
	kBool
	kInt
	kFloat
	kStr
	kBytes
	kOther // bytearray, frozen buffers and other inert data
	kGlobal
	kList
	kTuple
	kDict
	kSet
	kInstance
)

var kindNames = [...]string{"mark", "None", "bool", "int", "float", "str", "bytes", "bytearray",
	"global", "list", "tuple", "dict", "set", "instance"}

func (k vkind) String() string { return kindNames[k] }

// value is a symbolic Python object. Only what the scanner reasons about is
// kept: small ints, short strings, globals, containers (their first
// maxItems items) and instances of allow-listed classes.
type value struct {
	k vkind
	// big: an int that does not fit in int64, or a str/bytes whose content
	// was not kept (longer than maxName, or over the retention budget).
	big bool
	n   int64
	s   string
	o   *object
}

// role says what an instance is to the scanner.
type role uint8

const (
	roleGeneric role = iota
	roleDtype
	roleWrapper
	roleNDArray
)

// object is the shared part of a value: a global, a container or an
// instance. Values copied by DUP and GET share it, as Python objects do.
type object struct {
	g     Global // the global, or the instance's constructor
	role  role
	items []value // container items; dicts alternate key, value
	lost  bool    // some items were not kept
	attrs []value // wrapper attributes set by BUILD: name, value pairs
	dt    *dtypeState
}

// maxItems bounds the items kept per container.
const maxItems = 256

// maxItemString bounds the bytes kept per string stored in a container:
// enough for the attribute names of a NumpyArrayWrapper and dtype codes.
const maxItemString = 32

// maxName bounds the bytes kept per string: longer strings cannot be
// module or attribute names and their content is dropped.
const maxName = 128

func (v value) truthy() bool {
	switch v.k {
	case kNone:
		return false
	case kBool, kInt:
		return v.n != 0 || v.big
	}
	return true
}

// lookup returns the value stored under the str key name in a dict's items
// or a wrapper's attributes (the last one wins, as assignment does).
func lookup(pairs []value, name string) (value, bool) {
	var out value
	found := false
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].k == kStr && !pairs[i].big && pairs[i].s == name {
			out, found = pairs[i+1], true
		}
	}
	return out, found
}
