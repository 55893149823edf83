package main

import (
	"errors"
	"fmt"
	"strings"
)

const (
	beginMarker = "<!-- perf:begin -->"
	endMarker   = "<!-- perf:end -->"
)

// row is one line of the table: what was measured, the figure, and the
// issue's target with whether the figure meets it.
type row struct{ what, figure, target string }

// target formats a target and whether v meets it: at least min when
// higher is better, at most max otherwise.
func target(v float64, higherBetter bool, bound float64, format string) string {
	met := v >= bound
	if !higherBetter {
		met = v <= bound
	}
	word := "missed"
	if met {
		word = "met"
	}
	return fmt.Sprintf(format+" (%s)", bound, word)
}

// render builds the generated part of the Performance section.
func render(r results, m machine) string {
	const (
		stored   = "BenchmarkExtractStored256MiB/fsync=false"
		storedFs = "BenchmarkExtractStored256MiB/fsync=true"
		deflated = "BenchmarkExtractDeflated256MiB"
		shards   = "BenchmarkExtract200Shards"
		upload   = "BenchmarkUploadVsImport"
		compare  = "BenchmarkCompareStored/fsync=true"
		noSync   = "BenchmarkCompareStored/fsync=false"
	)
	var rows []row
	add := func(what string, fn func() (figure, target string), needs ...[2]string) {
		for _, n := range needs {
			if _, ok := r.median(n[0], n[1]); !ok {
				rows = append(rows, row{what, "not measured", "—"})
				return
			}
		}
		fig, tgt := fn()
		rows = append(rows, row{what, fig, tgt})
	}
	med := func(bench, unit string) float64 { v, _ := r.median(bench, unit); return v }
	ratioRow := func(bench, ref string, bound float64) func() (string, string) {
		return func() (string, string) {
			ratio := med(bench, "ratio")
			fig := fmt.Sprintf("%.0f MB/s, %.2f × %s", med(bench, "best-MB/s"), ratio, ref)
			if bound == 0 {
				return fig, "—"
			}
			return fig, target(ratio, true, bound, "≥ %.2f")
		}
	}
	need := func(bench string, units ...string) [][2]string {
		var n [][2]string
		for _, u := range units {
			n = append(n, [2]string{bench, u})
		}
		return n
	}

	add("Extract into a directory, one 256 MiB stored file", ratioRow(stored, "SHA-256", 0.85), need(stored, "ratio", "best-MB/s")...)
	add("Extract into a directory, one 256 MiB stored file, fsync", ratioRow(storedFs, "SHA-256", 0), need(storedFs, "ratio", "best-MB/s")...)
	add("Extract into a directory, 256 MiB deflated (~3x compressible)", ratioRow(deflated, "klauspost inflate", 0.90), need(deflated, "ratio", "best-MB/s")...)
	add("Extract into a directory, 200 stored 1 MiB shards", ratioRow(shards, "SHA-256 on two cores", 0.8), need(shards, "ratio", "best-MB/s")...)
	add("Peak heap, extracting a 1 GiB package", func() (string, string) {
		v := med("BenchmarkExtract1GiBPeakHeap", "peak-heap-MiB")
		return fmt.Sprintf("%.1f MiB", v), target(v, false, 32, "≤ %.0f MiB")
	}, need("BenchmarkExtract1GiBPeakHeap", "peak-heap-MiB")...)
	add("`Live` Acquire + Release, uncontended", func() (string, string) {
		v := med("BenchmarkAcquireRelease", "ns/op")
		return fmt.Sprintf("%.1f ns", v), target(v, false, 20, "≤ %.0f ns")
	}, need("BenchmarkAcquireRelease", "ns/op")...)
	add("`Live` Acquire + Release, all cores", func() (string, string) {
		return fmt.Sprintf("%.1f ns", med("BenchmarkAcquireReleaseParallel", "ns/op")), "—"
	}, need("BenchmarkAcquireReleaseParallel", "ns/op")...)
	add("Registry `Open`, 10,000 versions / 50,000 events, diskstore", func() (string, string) {
		v := med("BenchmarkOpen10kVersions", "ns/op") / 1e6
		return fmt.Sprintf("%.0f ms", v), target(v, false, 250, "< %.0f ms")
	}, need("BenchmarkOpen10kVersions", "ns/op")...)
	add("Deploy latency, diskstore with fsync, no model load", func() (string, string) {
		return fmt.Sprintf("%.1f ms", med("BenchmarkDeploy", "ns/op")/1e6), "—"
	}, need("BenchmarkDeploy", "ns/op")...)
	durable := func(bench string) func() (string, string) {
		return func() (string, string) {
			v := med(bench, "x-dd-fsync")
			return fmt.Sprintf("%.2f × `dd conv=fsync` (%.0f vs %.0f MB/s)", v, med(bench, "import-MB/s"), med(bench, "dd-MB/s")),
				target(v, true, 0.8, "≥ %.1f")
		}
	}
	const durStored, durShards = "BenchmarkDurableImport/stored-256MiB", "BenchmarkDurableImport/stored-200-shards"
	add("Durable import (diskstore, fsync), one 256 MiB stored file", durable(durStored), need(durStored, "x-dd-fsync", "import-MB/s", "dd-MB/s")...)
	add("Durable import (diskstore, fsync), 200 stored 1 MiB shards", durable(durShards), need(durShards, "x-dd-fsync", "import-MB/s", "dd-MB/s")...)
	const durDeflated = "BenchmarkDurableImport/deflated-256MiB"
	add("Durable import (diskstore, fsync), 256 MiB deflated (~3x compressible)", func() (string, string) {
		dd, inf := med(durDeflated, "x-dd-fsync"), med(durDeflated, "x-inflate")
		// The target is the lower of 0.8 x the copy and 0.9 x inflate.
		ok := dd >= 0.8 || inf >= 0.9
		verdict := "missed"
		if ok {
			verdict = "met"
		}
		return fmt.Sprintf("%.2f × `dd conv=fsync` of the uncompressed bytes, %.2f × klauspost inflate (%.0f MB/s)", dd, inf, med(durDeflated, "import-MB/s")),
			"≥ 0.8 × dd or ≥ 0.9 × inflate (" + verdict + ")"
	}, need(durDeflated, "x-dd-fsync", "x-inflate", "import-MB/s")...)
	add("`modelctl import` of a 1 MiB package, over `modelctl` doing nothing", func() (string, string) {
		v := med("BenchmarkImportProcess1MiB", "ms-over-nothing")
		return fmt.Sprintf("%.0f ms (%.0f ms in all)", v, med("BenchmarkImportProcess1MiB", "ms-import")), target(v, false, 20, "≤ %.0f ms")
	}, need("BenchmarkImportProcess1MiB", "ms-over-nothing", "ms-import")...)
	add("Import into diskstore / extract into a plain directory, 256 MiB stored, fsync", func() (string, string) {
		const b = "BenchmarkImportDiskstoreVsDir"
		return fmt.Sprintf("%.2f (%.0f vs %.0f MB/s)", med(b, "ratio"), med(b, "store-MB/s"), med(b, "dir-MB/s")), "—"
	}, need("BenchmarkImportDiskstoreVsDir", "ratio", "store-MB/s", "dir-MB/s")...)
	add("HTTP upload / direct `Import`, same package", func() (string, string) {
		// The median of the per-round ratios where the benchmark
		// reports it (rounds share the load of their moment).
		v, ok := r.median(upload, "median-ratio")
		if !ok {
			v = med(upload, "ratio")
		}
		return fmt.Sprintf("%.2f (%.0f vs %.0f MB/s)", v, med(upload, "http-MB/s"), med(upload, "direct-MB/s")),
			target(v, true, 0.85, "≥ %.2f")
	}, need(upload, "ratio", "http-MB/s", "direct-MB/s")...)
	add("Pickle scan, 100 MiB joblib, every byte read", func() (string, string) {
		return fmt.Sprintf("%.0f MB/s", med("BenchmarkScan100MiBStream", "MB/s")), "—"
	}, need("BenchmarkScan100MiBStream", "MB/s")...)
	add("Pickle scan, 100 MiB joblib, zlib-compressed", func() (string, string) {
		return fmt.Sprintf("%.0f MB/s", med("BenchmarkScan100MiBZlib", "MB/s")), "—"
	}, need("BenchmarkScan100MiBZlib", "MB/s")...)
	add("vs `unzip` + `sha256sum` + `sync`, 256 MiB stored, fsync", func() (string, string) {
		v := med(compare, "x-unzip")
		return fmt.Sprintf("%.1f× faster (%.0f vs %.0f MB/s); CPU time %.1f×; writing + fsync alone: %.1f×",
				v, med(compare, "modelvault-MB/s"), med(compare, "unzip-MB/s"), med(compare, "cpu-x-unzip"), med(compare, "x-floor-unzip")),
			target(v, true, 10, "≥ %.0f×")
	}, need(compare, "x-unzip", "modelvault-MB/s", "unzip-MB/s", "cpu-x-unzip", "x-floor-unzip")...)
	add("vs Python `zipfile.extractall` + `hashlib` + `os.fsync`, same package", func() (string, string) {
		v := med(compare, "x-python")
		return fmt.Sprintf("%.1f× faster (%.0f vs %.0f MB/s); CPU time %.1f×; writing + fsync alone: %.1f×",
				v, med(compare, "modelvault-MB/s"), med(compare, "python-MB/s"), med(compare, "cpu-x-python"), med(compare, "x-floor-python")),
			target(v, true, 2.5, "≥ %.1f×")
	}, need(compare, "x-python", "modelvault-MB/s", "python-MB/s", "cpu-x-python", "x-floor-python")...)
	add("The same two without any fsync (page cache only)", func() (string, string) {
		return fmt.Sprintf("%.1f× `unzip` + `sha256sum`, %.1f× Python (%.0f vs %.0f vs %.0f MB/s)",
			med(noSync, "x-unzip"), med(noSync, "x-python"),
			med(noSync, "modelvault-MB/s"), med(noSync, "unzip-MB/s"), med(noSync, "python-MB/s")), "—"
	}, need(noSync, "x-unzip", "x-python", "modelvault-MB/s", "unzip-MB/s", "python-MB/s")...)

	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s; load average %s at the start. Started %s. Medians of %s.\n\n",
		m.CPU, m.Cores, m.Go, m.Load, m.Date.Format("2006-01-02 15:04 MST"), m.Mode)
	b.WriteString("| Measure | Median | Target |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.what, r.figure, r.target)
	}
	return b.String()
}

// rewrite replaces what lies between the markers in readme with section.
func rewrite(readme, section string) (string, error) {
	i := strings.Index(readme, beginMarker)
	j := strings.Index(readme, endMarker)
	if i < 0 || j < 0 {
		return "", fmt.Errorf("no %s ... %s markers", beginMarker, endMarker)
	}
	if j < i || strings.Count(readme, beginMarker) != 1 || strings.Count(readme, endMarker) != 1 {
		return "", errors.New("want exactly one begin marker followed by one end marker")
	}
	i += len(beginMarker)
	return readme[:i] + "\n" + strings.TrimRight(section, "\n") + "\n" + readme[j:], nil
}
