//go:build !unix

package comparebench_test

import (
	"testing"
	"time"
)

// selfCPU is not measured where getrusage is missing: the comparison
// benchmarks report wall time only there.
func selfCPU(*testing.B) time.Duration { return 0 }
