// Command benchrecord runs modelvault's benchmark suite across packages
// and writes the medians into the Performance section of README.md,
// between the lines <!-- perf:begin --> and <!-- perf:end -->.
//
// Run it from the module root on a quiet machine:
//
//	go run ./internal/cmd/benchrecord            # -count 5: half an hour or more
//	go run ./internal/cmd/benchrecord -quick     # -count 1, fewer iterations, a 256 MiB upload: ~7 min
//	go run ./internal/cmd/benchrecord -print     # print the section, leave README.md alone
//	go run ./internal/cmd/benchrecord -from raw.txt  # render saved `go test -bench` output
//
// Each benchmark runs as `go test -run '^$' -bench B -count N -benchtime T
// PKG`; the raw output goes to -o (default benchrecord.txt in the
// temporary directory). Every figure in the table is the median over the
// N runs of one metric, custom metrics such as "ratio" included.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// bench is one `go test -bench` invocation of the suite.
type bench struct {
	pkg, pattern     string
	benchtime, quick string   // -benchtime in full and quick mode
	env, quickEnv    []string // extra environment in full and quick mode
}

var suite = []bench{
	{pkg: "./modelpkg", pattern: "^BenchmarkExtract(Stored256MiB|Deflated256MiB|200Shards)$", benchtime: "3x", quick: "2x"},
	{pkg: "./modelpkg", pattern: "^BenchmarkExtract1GiBPeakHeap$", benchtime: "2x", quick: "1x"},
	{pkg: "./registry", pattern: "^BenchmarkAcquireRelease(Parallel)?$", benchtime: "1s", quick: "200ms"},
	{pkg: "./registry", pattern: "^BenchmarkDeploy$", benchtime: "50x", quick: "10x"},
	{pkg: "./registry", pattern: "^BenchmarkOpen10kVersions$", benchtime: "10x", quick: "3x"},
	{pkg: "./registry/registryhttp", pattern: "^BenchmarkUploadVsImport$", benchtime: "2x", quick: "1x",
		quickEnv: []string{"MODELVAULT_BENCH_UPLOAD_MB=256"}},
	{pkg: "./internal/pickle", pattern: "^BenchmarkScan100MiB(Stream|Zlib)$", benchtime: "10x", quick: "3x"},
	{pkg: "./internal/comparebench", pattern: "^BenchmarkCompareStored$", benchtime: "3x", quick: "2x"},
	{pkg: "./internal/comparebench", pattern: "^BenchmarkImportDiskstoreVsDir$", benchtime: "3x", quick: "2x"},
	{pkg: "./internal/comparebench", pattern: "^(BenchmarkDurableImport|BenchmarkImportProcess1MiB)$", benchtime: "9x", quick: "5x"},
}

func main() {
	count := flag.Int("count", 5, "`N` runs of each benchmark (-quick makes the default 1)")
	quick := flag.Bool("quick", false, "shorter runs: -count 1, fewer iterations, a 256 MiB upload")
	readme := flag.String("readme", "README.md", "the README to rewrite")
	printOnly := flag.Bool("print", false, "print the section instead of rewriting the README")
	from := flag.String("from", "", "render this saved benchmark output instead of running the suite")
	out := flag.String("o", filepath.Join(os.TempDir(), "benchrecord.txt"), "where to save the raw benchmark output")
	flag.Parse()
	countSet := false
	flag.Visit(func(f *flag.Flag) { countSet = countSet || f.Name == "count" })
	if *quick && !countSet {
		*count = 1
	}
	if err := run(*count, *quick, *readme, *printOnly, *from, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchrecord:", err)
		os.Exit(1)
	}
}

func run(count int, quick bool, readme string, printOnly bool, from, out string) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run me from the module root (no go.mod here)")
	}
	m := machineInfo()
	m.Mode = fmt.Sprintf("-count %d", count)
	if quick {
		m.Mode += ", quick mode (fewer iterations, 256 MiB upload)"
	}
	var raw []byte
	var err error
	if from != "" {
		if raw, err = os.ReadFile(from); err != nil {
			return err
		}
		m.Mode = "rendered from " + filepath.Base(from)
	} else if raw, err = runSuite(count, quick, out); err != nil {
		return err
	}
	res, err := parse(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	section := render(res, m)
	if printOnly {
		fmt.Print(section)
		return nil
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	updated, err := rewrite(string(old), section)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	if err := os.WriteFile(readme, []byte(updated), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchrecord: wrote %s\n", readme)
	return nil
}

// runSuite runs every benchmark of the suite, echoing and saving the
// output, and returns it all.
func runSuite(count int, quick bool, out string) ([]byte, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var all bytes.Buffer
	for _, b := range suite {
		benchtime, env := b.benchtime, b.env
		if quick {
			benchtime, env = b.quick, b.quickEnv
		}
		args := []string{"test", "-run", "^$", "-bench", b.pattern, "-count", fmt.Sprint(count),
			"-benchtime", benchtime, "-timeout", "2h", b.pkg}
		fmt.Fprintf(os.Stderr, "benchrecord: %s\n", strings.Join(append(env, "go", strings.Join(args, " ")), " "))
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout = io.MultiWriter(&all, f, os.Stderr)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go test %s: %w", b.pkg, err)
		}
		fmt.Fprintf(os.Stderr, "benchrecord: %s done in %v\n", b.pkg, time.Since(start).Round(time.Second))
	}
	fmt.Fprintf(os.Stderr, "benchrecord: raw output in %s\n", out)
	return all.Bytes(), nil
}

// machine describes where and how the figures were measured.
type machine struct {
	CPU, Go, Load, Mode string
	Cores               int
	Date                time.Time
}

func machineInfo() machine {
	m := machine{CPU: "unknown CPU", Date: time.Now().UTC()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU, m.Cores = cpuInfo(string(b))
	}
	if b, err := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH").Output(); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 3 {
			m.Go = fmt.Sprintf("%s %s/%s", f[0], f[1], f[2])
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuInfo returns the first model name in /proc/cpuinfo and the number
// of processors listed.
func cpuInfo(s string) (model string, cores int) {
	model = "unknown CPU"
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			cores++
		case "model name":
			if cores == 1 {
				model = strings.TrimSpace(v)
			}
		}
	}
	return model, cores
}
