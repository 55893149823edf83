package testservers

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records Skip and Fatal instead of ending the real test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runFake(fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestMissingBinarySkipsWithInstallCommand(t *testing.T) {
	t.Setenv("MODELVAULT_NO_SUCH_SERVER", "")
	t.Setenv(RequireEnv, "")
	f := runFake(func(tb testing.TB) {
		binary(tb, "modelvault-no-such-server", "MODELVAULT_NO_SUCH_SERVER", "go install example.com/x@v1")
	})
	if !strings.Contains(f.skipped, "go install example.com/x@v1") || f.failed != "" {
		t.Fatalf("skipped=%q failed=%q", f.skipped, f.failed)
	}

	t.Setenv(RequireEnv, "1")
	f = runFake(func(tb testing.TB) {
		binary(tb, "modelvault-no-such-server", "MODELVAULT_NO_SUCH_SERVER", "go install example.com/x@v1")
	})
	if !strings.Contains(f.failed, RequireEnv) || f.skipped != "" {
		t.Fatalf("skipped=%q failed=%q", f.skipped, f.failed)
	}
}

func TestBinaryOverride(t *testing.T) {
	t.Setenv("MODELVAULT_NO_SUCH_SERVER", "/opt/custom/server")
	if got := binary(t, "modelvault-no-such-server", "MODELVAULT_NO_SUCH_SERVER", ""); got != "/opt/custom/server" {
		t.Fatalf("got %q", got)
	}
}
