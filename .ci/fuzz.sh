#!/usr/bin/env bash
# Runs every fuzz target in the module, one at a time, for SECONDS each
# (default 30): go test -run '^$' -fuzz '^FuzzX$' -fuzztime Ns ./pkg.
# Fails if any target finds a failure; the failing input is then in the
# package's testdata/fuzz/FuzzX/ (commit it with the fix, so it stays a
# regression test that every `go test` runs).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-30}"
case "$secs" in ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2;; esac

# "pkgdir FuzzName" for every fuzz target, in a stable order.
targets="$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*(' |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#; s#^[^ /]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#. \1#' | sort -u)"
if [ -z "$targets" ]; then echo "no fuzz targets found" >&2; exit 1; fi

n=$(printf '%s\n' "$targets" | wc -l)
echo "fuzzing $n targets for ${secs}s each"
failed=()
start=$(date +%s)
while read -r dir name; do
  printf '\n=== %s ./%s (%s)\n' "$name" "$dir" "$(date -u +%H:%M:%S)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" "./${dir}"; then
    failed+=("./${dir} ${name}")
    echo "--- FAIL: ${name}: the failing input is in ${dir}/testdata/fuzz/${name}/"
  fi
done <<< "$targets"
echo
echo "fuzzed $n targets x ${secs}s in $(( $(date +%s) - start ))s"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
