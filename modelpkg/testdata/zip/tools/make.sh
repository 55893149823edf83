#!/usr/bin/env bash
# Regenerates the accepted-package fixtures in this directory with the real
# tools (Debian: python3, zip, p7zip-full, libarchive-tools). The source
# is valid-dirs.zip's tree: a directory, a small and a 5,000-byte file and
# the manifest. TestOtherReadersAgree reads every *.zip here with
# modelvault, Python's zipfile, unzip, bsdtar and 7z and compares them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(mktemp -d)"; trap 'rm -rf "$src"' EXIT
unzip -q "$here/../valid-dirs.zip" -d "$src/pkg"
cd "$src/pkg"
rm -f "$here"/*.zip
TZ=UTC touch -d 2024-01-01T00:00:00 docs docs/a.md z.txt deployment_manifest.json
py=/usr/bin/python3
$py - "$here" <<'PY'
import io, os, sys, zipfile
out = sys.argv[1]
names = ["docs/", "docs/a.md", "z.txt", "deployment_manifest.json"]
def data(n): return b"" if n.endswith("/") else open(n, "rb").read()
# Default: ZipFile.write over the tree (deflated).
with zipfile.ZipFile(f"{out}/python-default.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for n in names: z.write(n)
# zip64 forced on every file.
with zipfile.ZipFile(f"{out}/python-zip64.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for n in names:
        if n.endswith("/"): z.mkdir(n) if hasattr(z, "mkdir") else z.writestr(n, b"")
        else:
            with z.open(zipfile.ZipInfo(n, (2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as w: w.write(data(n))
# Streamed to an unseekable output: data descriptors.
class Pipe(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with open(f"{out}/python-stream.zip", "wb") as f:
    with zipfile.ZipFile(Pipe(f), "w", zipfile.ZIP_DEFLATED) as z:
        for n in names: z.writestr(zipfile.ZipInfo(n, (2024, 1, 1, 0, 0, 0)), data(n))
# shutil.make_archive's shape: the tree with "./"-less names, stored.
with zipfile.ZipFile(f"{out}/python-stored.zip", "w", zipfile.ZIP_STORED) as z:
    for n in names: z.write(n)
PY
zip -q -X -r "$here/infozip-r.zip" docs z.txt deployment_manifest.json
zip -q -X -r -fz "$here/infozip-fz.zip" docs z.txt deployment_manifest.json
zip -q -X -r -0 "$here/infozip-stored.zip" docs z.txt deployment_manifest.json
zip -q -X -r - docs z.txt deployment_manifest.json | cat > "$here/infozip-stream.zip"
7z a -tzip -bd -bso0 "$here/7zip.zip" docs z.txt deployment_manifest.json
bsdtar -a -cf "$here/bsdtar.zip" .
