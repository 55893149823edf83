// Package pickle is the project's one restricted pickle machine: it parses
// a pickle or joblib file into an inert value graph, never running code,
// and a policy over the graph decides whether any loader could run code,
// exhaust memory or CPU, or crash when it reads the file. The scan
// (validate.PickleScan) and the scikit-learn runtime both use it; the
// runtime builds estimators only from graphs the policy approved.
//
// [Scan] returns the verdict, [Load] the approved graph too (value.go
// lists its types: *Object for instances, *Array with decoded data for
// numpy arrays, *Dtype with structured fields in order, float64 for numpy
// float scalars, *Scalar for the others), and [ScanAll] the verdict under
// every loader a file may meet.
//
// # The machine
//
// It follows pickle protocols 0 to 5 opcode by opcode, with the memo and
// the stack, as CPython does: one node per object whatever alias (DUP,
// GET) reaches it; every BUILD, APPEND, SETITEM and ADDITEMS applied to
// that node. Protocol 0-2 names are renamed as Python's fix_imports does
// and numpy 2's numpy._core is spelled numpy.core. Its opcode stream and
// byte offsets equal CPython's pickletools.genops on every fixture
// (testdata/traces, gen_traces.py), and FuzzTrace checks them against an
// independent decoder.
//
// joblib files ([Options.Plain] false) are read as joblib.load reads
// them: zlib, gzip, bz2, xz, lzma and lz4 containers are decompressed with
// a bound, and a BUILD on joblib's NumpyArrayWrapper reads the array from
// the stream right after it (joblib/numpy_pickle.py, read_array): a
// nested pickle for object dtypes, otherwise an optional padding-length
// byte, the padding and prod(shape) * itemsize raw bytes, skipped (Scan,
// by seeking when the input can) or decoded (Load), never read twice.
//
// # The policy
//
//   - Globals: exact (module, name) pairs, never prefixes or dotted
//     names. Most may only be values (numpy scalar types, numpy.ndarray
//     and numpy.memmap, which are never called); the callables have a
//     schema each, checked with the arguments the loader would pass:
//     numpy.dtype(typestr, False, True); _reconstruct(ndarray or memmap,
//     (0,), b'b'); scalar(dtype, bytes) of a numeric dtype (an object
//     dtype would return its argument itself); bytes and bytearray of
//     bytes or latin-1 text, never of a size; set, frozenset, slice,
//     complex of plain values; numpy's MT19937 random state; the
//     __reduce__ reconstructors of scikit-learn's Cython types (Tree,
//     KDTree, BallTree and their distance metrics, SGD and HistGradient
//     Boosting losses). Classes are made only by NEWOBJ with no
//     arguments, as pickle writes them.
//   - BUILD: at most one per node; a class's state is a dict whose keys
//     are exactly the attributes scikit-learn 1.2.1 writes for it
//     (schema_classes.go, derived from fitted estimators) plus those any
//     estimator may have (feature_names_in_, _sklearn_output_config); no
//     dunder, no method name. The state dict is frozen: a later SETITEM
//     on it is rejected, since the loader already copied it. dtypes are
//     frozen once an array, scalar or field uses them, so dtype graphs
//     are acyclic and what the policy sees is what numpy built.
//   - joblib's NumpyArrayWrapper state is a fixed grammar: subclass,
//     shape, order, dtype, allow_mmap and the optional
//     numpy_array_alignment_bytes, nothing else (a "read" key would shadow
//     the method that reads the array). The byte split follows from the
//     validated state and the frozen dtype.
//   - ndarray states hold exactly prod(shape) * itemsize bytes, or for
//     object arrays a list of exactly prod(shape) items.
//   - State values are inert data, arrays, dtypes and instances of
//     allowed classes; _sklearn_version is a str; RandomState, Tree and
//     FunctionTransformer have value schemas.
//   - One budget ([Options.Budget]) for everything a loader would allocate
//     or expand: array data, str, bytes and int sizes, container items,
//     and the expanded size of shared-reference graphs.
//   - The root is an instance of a model class.
//
// # Errors
//
// A rejected file yields an *[Error] naming the node of the graph and the
// rule: errors.Is(err, [ErrUnsafe]) when a loader could run code or crash
// (a global outside the policy, a call or BUILD that breaks its schema),
// [ErrLimit] when it would exceed a limit or the budget, [ErrInvalid] for
// a file that is not a pickle or joblib file the machine can parse
// (truncated, trailing data, a malformed opcode) or whose root is not a
// model. Other errors come from the reader or the context.
//
// # Security and limits
//
// Declared lengths are never allocated before the bytes exist; they are
// checked against the input's size when it can seek, and charged to the
// budget. Work is linear in the input. Limits: [Options.MaxStack],
// [Options.MaxMemo], [Options.MaxItemSize], [Options.MaxDecompressedSize]
// and [Options.Budget]; none is unlimited. [ScanAll] also rejects a file
// that pickle.load would read differently from joblib.load in a way that
// runs code or that the machine cannot follow as CPython does.
//
// # Concurrency
//
// Scan, Load and ScanAll are safe for concurrent use; each call has its
// own state. A loaded graph is not safe for concurrent mutation.
package pickle
