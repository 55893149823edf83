//go:build !unix

package sklearn_test

import "time"

// cpuTime is not measured here (the benchmarks then omit cpu-ns).
func cpuTime() time.Duration { return 0 }
