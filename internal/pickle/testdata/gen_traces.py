"""Writes the CPython opcode trace of every fixture the Go tests parse.

Run with Debian's interpreter from this directory:

    /usr/bin/python3 gen_traces.py

For each fixture it writes traces/<name>.trace: one line per opcode,
"<offset> <opcode byte in hex>", offsets in the (decompressed) pickle
stream, exactly as pickletools.genops yields them. joblib files hold raw
array data between opcodes: the ranges joblib reads as array data are
learnt by loading the (trusted, generated-here) fixture with joblib's own
NumpyUnpickler, then genops walks the opcodes between them; the nested
pickles of object arrays are walked by genops too. The Go test
(trace_test.go) checks that the machine sees the same opcodes at the same
offsets.
"""
import bz2, glob, gzip, io, lzma, os, pickle, pickletools, zlib

import joblib.numpy_pickle as jnp

try:
    import lz4.frame
except ImportError:  # pragma: no cover
    lz4 = None

SOURCES = [
    ("real", "real/*"),
    ("opcodes", "opcodes/*.pickle"),
    ("sklearn", "../../../modelpkg/sklearn/testdata/*.joblib"),
]


def decompress(data):
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:2] == b"BZ":
        return bz2.decompress(data)
    if data[:5] == b"\xfd7zXZ":
        return lzma.decompress(data)
    if data[:2] == b"\x5d\x00":
        return lzma.decompress(data, format=lzma.FORMAT_ALONE)
    if data[:4] == b"\x04\x22\x4d\x18":
        return lz4.frame.decompress(data)
    return data


class Inert:
    """Stands in for every scikit-learn class and function, so that files
    of other scikit-learn releases load and nothing of theirs runs."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class Unpickler(jnp.NumpyUnpickler):
    def find_class(self, module, name):
        if module.split(".")[0] == "sklearn":
            return Inert
        return super().find_class(module, name)


def array_ranges(stream):
    """Byte ranges joblib reads as array data (raw or nested pickle)."""
    ranges = []
    orig = jnp.NumpyArrayWrapper.read

    def read(self, unpickler):
        start = unpickler.file_handle.tell()
        out = orig(self, unpickler)
        end = unpickler.file_handle.tell()
        nested = self.dtype.hasobject
        ranges.append((start, end, nested))
        return out

    jnp.NumpyArrayWrapper.read = read
    try:
        f = io.BytesIO(stream)
        Unpickler("x", f).load()
    finally:
        jnp.NumpyArrayWrapper.read = orig
    return ranges


def genops_from(stream, start, stop_at=None):
    """(offset, code) of the opcodes from start, until STOP or the BUILD
    right before stop_at."""
    out = []
    for op, arg, pos in pickletools.genops(io.BytesIO(stream[start:])):
        out.append((start + pos, op.code))
        if op.name == "STOP":
            break
        if stop_at is not None and start + pos + 1 == stop_at:
            break
    return out


def trace(stream, joblib):
    if not joblib:
        return genops_from(stream, 0)
    out, pos = [], 0
    for start, end, nested in array_ranges(stream):
        out += genops_from(stream, pos, stop_at=start)
        if nested:
            out += genops_from(stream, start)
        pos = end
    return out + genops_from(stream, pos)


def main():
    os.makedirs("traces", exist_ok=True)
    for prefix, pattern in SOURCES:
        for path in sorted(glob.glob(pattern)):
            name = prefix + "_" + os.path.basename(path)
            stream = decompress(open(path, "rb").read())
            joblib = not path.endswith((".pkl", ".pickle"))
            lines = ["%d %02x" % (pos, ord(code)) for pos, code in trace(stream, joblib)]
            with open(os.path.join("traces", name + ".trace"), "w") as f:
                f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
