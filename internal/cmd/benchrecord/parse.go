package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results maps a benchmark's name (without the -GOMAXPROCS suffix) to
// its metrics, each unit to the values of every run.
type results map[string]map[string][]float64

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` output. A result line is a name, the
// iteration count, then value-unit pairs (ns/op, MB/s, B/op, custom
// metrics such as ratio). A benchmark that printed while it ran splits
// its line in two: the name alone, the figures later; both forms are
// read. Other lines are ignored.
func parse(r io.Reader) (results, error) {
	res := results{}
	pending := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && strings.HasPrefix(f[0], "Benchmark") {
			pending = f[0]
			continue
		}
		if len(f) > 0 && !strings.HasPrefix(f[0], "Benchmark") && pending != "" {
			if _, err := strconv.Atoi(f[0]); err == nil {
				f = append([]string{pending}, f...)
			}
		}
		if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		pending = ""
		name := procsSuffix.ReplaceAllString(f[0], "")
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: metric %q: %w", f[0], f[i+1], err)
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// median returns the median of bench's unit over its runs, and whether
// it was measured.
func (r results) median(bench, unit string) (float64, bool) {
	v := slices.Clone(r[bench][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, true
	}
	return v[len(v)/2], true
}
