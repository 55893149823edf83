package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/modelvault/modelvault/modelpkg
cpu: AMD EPYC
BenchmarkExtractStored256MiB/fsync=false-2         	       2	 201000000 ns/op	1335.56 MB/s	      1500 best-MB/s	         0.93 ratio
BenchmarkExtractStored256MiB/fsync=false-2         	       2	 202000000 ns/op	1328.95 MB/s	      1400 best-MB/s	         0.91 ratio
BenchmarkExtractStored256MiB/fsync=false-2         	       2	 203000000 ns/op	1322.40 MB/s	      1450 best-MB/s	         0.95 ratio
--- BENCH: BenchmarkExtractStored256MiB/fsync=false-2
    bench_test.go:160: compression ratio 3.03
BenchmarkAcquireRelease-2   	100000000	        11.50 ns/op	       0 B/op	       0 allocs/op
BenchmarkAcquireRelease-2   	100000000	        12.50 ns/op	       0 B/op	       0 allocs/op
BenchmarkOpen10kVersions-2
some line the benchmark printed
       3	 180000000 ns/op
BenchmarkCompareStored/fsync=true-2   	       2	 618677212 ns/op	 108.48 MB/s	   214.3 floor-MB/s	  196.6 modelvault-MB/s	  67.80 python-MB/s	   29.67 unzip-MB/s	  7.222 x-floor-unzip	 2.899 x-python	  6.625 x-unzip	  3.0 cpu-x-unzip	  1.4 cpu-x-python	 3.1 x-floor-python
PASS
ok  	github.com/modelvault/modelvault/modelpkg	12.3s
`

func TestParse(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	require.NoError(t, err)

	t.Run("strips GOMAXPROCS and keeps every run", func(t *testing.T) {
		assert.Equal(t, []float64{0.93, 0.91, 0.95}, res["BenchmarkExtractStored256MiB/fsync=false"]["ratio"])
		assert.Equal(t, []float64{11.5, 12.5}, res["BenchmarkAcquireRelease"]["ns/op"])
	})
	t.Run("custom metrics", func(t *testing.T) {
		assert.Equal(t, []float64{6.625}, res["BenchmarkCompareStored/fsync=true"]["x-unzip"])
		assert.Equal(t, []float64{196.6}, res["BenchmarkCompareStored/fsync=true"]["modelvault-MB/s"])
	})
	t.Run("name and figures on separate lines", func(t *testing.T) {
		assert.Equal(t, []float64{180000000}, res["BenchmarkOpen10kVersions"]["ns/op"])
	})
	t.Run("ignores other lines", func(t *testing.T) {
		assert.Len(t, res, 4)
	})
	t.Run("median", func(t *testing.T) {
		v, ok := res.median("BenchmarkExtractStored256MiB/fsync=false", "ratio")
		assert.True(t, ok)
		assert.Equal(t, 0.93, v)
		v, _ = res.median("BenchmarkAcquireRelease", "ns/op")
		assert.Equal(t, 12.0, v, "even count: mean of the middle two")
		_, ok = res.median("BenchmarkAcquireRelease", "ratio")
		assert.False(t, ok)
	})
}

func TestRender(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	require.NoError(t, err)
	m := machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8 linux/amd64", Load: "1.00 0.50 0.20",
		Mode: "-count 3", Date: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)}
	out := render(res, m)
	for _, want := range []string{
		"Machine: AMD EPYC, 2 cores, go1.26.8 linux/amd64; load average 1.00 0.50 0.20 at the start. Started 2026-11-25 21:00 UTC. Medians of -count 3.",
		"| Extract into a directory, one 256 MiB stored file | 1450 MB/s, 0.93 × SHA-256 | ≥ 0.85 (met) |",
		"| `Live` Acquire + Release, uncontended | 12.0 ns | ≤ 20 ns (met) |",
		"| Registry `Open`, 10,000 versions / 50,000 events, diskstore | 180 ms | < 250 ms (met) |",
		"| vs `unzip` + `sha256sum` + `sync`, 256 MiB stored, fsync | 6.6× faster (197 vs 30 MB/s); CPU time 3.0×; writing + fsync alone: 7.2× | ≥ 10× (missed) |",
		"| vs Python `zipfile.extractall` + `hashlib` + `os.fsync`, same package | 2.9× faster (197 vs 68 MB/s); CPU time 1.4×; writing + fsync alone: 3.1× | ≥ 2.5× (met) |",
		"| The same two without any fsync (page cache only) | not measured | — |",
		"| HTTP upload / direct `Import`, same package | not measured | — |",
	} {
		assert.Contains(t, out, want)
	}
}

func TestRewrite(t *testing.T) {
	readme := "# x\n\n## Performance\n\nProse.\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nMore prose.\n\n## License\n"

	t.Run("replaces only between the markers", func(t *testing.T) {
		got, err := rewrite(readme, "new table\n")
		require.NoError(t, err)
		assert.Equal(t, "# x\n\n## Performance\n\nProse.\n\n"+beginMarker+"\nnew table\n"+endMarker+"\n\nMore prose.\n\n## License\n", got)
	})
	t.Run("idempotent", func(t *testing.T) {
		once, err := rewrite(readme, "t\n")
		require.NoError(t, err)
		twice, err := rewrite(once, "t\n")
		require.NoError(t, err)
		assert.Equal(t, once, twice)
	})
	for name, bad := range map[string]string{
		"no markers": "# x\n",
		"no end":     beginMarker + "\n",
		"reversed":   endMarker + "\n" + beginMarker + "\n",
		"two begins": beginMarker + beginMarker + endMarker,
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			_, err := rewrite(bad, "t")
			assert.Error(t, err)
		})
	}
}

func TestCPUInfo(t *testing.T) {
	model, cores := cpuInfo("processor\t: 0\nmodel name\t: AMD EPYC 9654\nflags\t: sse\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9654\n")
	assert.Equal(t, "AMD EPYC 9654", model)
	assert.Equal(t, 2, cores)
}

// The upload row takes the median of the per-round ratios when the
// benchmark reports it, against issue #15's 0.85.
func TestRenderUpload(t *testing.T) {
	const out = "BenchmarkUploadVsImport-2   	       3	4301504077 ns/op	  62.41 MB/s	       177.9 direct-MB/s	        96.12 http-MB/s	         0.5402 ratio	0.9 median-ratio\n"
	res, err := parse(strings.NewReader(out))
	require.NoError(t, err)
	assert.Contains(t, render(res, machine{}), "| HTTP upload / direct `Import`, same package | 0.90 (96 vs 178 MB/s) | ≥ 0.85 (met) |")
	res, err = parse(strings.NewReader(strings.Replace(out, "\t0.9 median-ratio", "", 1)))
	require.NoError(t, err)
	assert.Contains(t, render(res, machine{}), "| HTTP upload / direct `Import`, same package | 0.54 (96 vs 178 MB/s) | ≥ 0.85 (missed) |")
}
