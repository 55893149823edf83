// Package picklescan proves, without running Python, that loading a pickle
// or joblib file could only import and build allow-listed globals.
//
// [Scan] is a bounded, allocation-safe walker over pickle protocols 0 to 5.
// It never builds Python objects. It follows every opcode, the memo (PUT,
// BINPUT, LONG_BINPUT, MEMOIZE and the GET variants) and a symbolic stack
// that tracks strings, small ints, globals, marks, containers and
// instances, so it knows the exact (module, name) of every GLOBAL,
// STACK_GLOBAL and INST however the strings got there (memo'd strings,
// escaped protocol-0 STRING and UNICODE arguments, BINUNICODE8, ...).
// Protocol 0-2 names are renamed as Python's fix_imports renames them
// before they are checked.
//
// Globals are decided by an allowlist of exact (module, name) pairs
// ([DefaultAllowlist] plus [Options.Allow]), never by module prefix; a
// dotted name (resolved attribute by attribute since protocol 4) is always
// rejected. A blocklist of well-known dangerous globals (os.system,
// builtins.eval, numpy.load, pkgutil.resolve_name, ...) only improves the
// message. REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST must call an
// allow-listed global; BUILD must target an instance, never a class;
// APPEND, SETITEM and ADDITEMS must target real containers. A few
// globals have their arguments checked: numpy.dtype, joblib's
// NumpyArrayWrapper and _codecs.encode (only as encode(str, 'latin1')).
// The root object must be an instance of an allow-listed model class, not
// a bare container, string or array.
//
// # joblib
//
// Scan reads files as joblib.load does. It detects joblib's zlib, gzip,
// bz2, xz, lzma and lz4 containers by their magic bytes and decompresses
// them with a bound. When a BUILD leaves a joblib.numpy_pickle
// NumpyArrayWrapper on the stack, joblib reads the array right from the
// file (joblib/numpy_pickle.py, NumpyArrayWrapper.read_array): Scan does
// the same, taking the shape, the dtype (its itemsize and hasobject flag
// computed from the pickled dtype state as numpy computes them, structured
// and 'U5'-style dtypes included) and the optional alignment padding byte
// from the wrapper's state. Raw data is skipped, by seeking when the input
// can seek; an object array is a nested pickle, which is walked with the
// same rules. Pre-0.10 NDArrayWrapper files, which load an external file,
// are rejected. With [Options.Plain], files are read as pickle.load reads
// them instead.
//
// # Errors
//
// A rejected file yields an *[Error]: errors.Is(err, [ErrUnsafe]) for a
// global outside the allowlist (Error.Global names it) or a construct that
// runs code by design, errors.Is(err, [ErrInvalid]) for anything the
// scanner cannot prove safe: not a pickle, truncated, trailing data after
// the final STOP or after the compressed stream, frames or lengths larger
// than the input, reads crossing a frame's end, malformed arguments, a
// wrong root, or a limit exceeded. Other errors come from the reader or
// the context.
//
// # Security and limits
//
// Declared lengths are never allocated: strings are read with a cap (only
// the first bytes of long strings are kept) and compared to the bytes left
// when the input can seek. Work is linear in the input: each opcode
// consumes at least one byte and a work budget is enforced. Memory is
// bounded by [Options.MaxStack], [Options.MaxMemo] and
// [Options.MaxTracked] (container items kept), decompression by
// [Options.MaxDecompressedSize]. Where the two CPython unpicklers (the C
// one behind pickle.load, the Python one joblib uses) could read the same
// bytes differently, Scan rejects: reads must not cross a frame's end, a
// frame must be consumed before the next FRAME or STOP, array data must
// not start inside a frame, integers must be plain decimals, and dtype
// states must be consistent.
//
// # Concurrency
//
// Scan is safe for concurrent use; each call has its own state.
package picklescan
