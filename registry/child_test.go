package registry_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage/storeurl"
)

// The crash, replica and resource tests run registries in child
// processes: the test binary runs itself with -test.run '^TestChild$'
// and MODELVAULT_CHILD naming what to do. Without it TestChild skips.

const (
	childEnv      = "MODELVAULT_CHILD"       // the child's mode
	childStoreEnv = "MODELVAULT_CHILD_STORE" // storeurl target of the shared store
	childPkgsEnv  = "MODELVAULT_CHILD_PKGS"  // directory of package ZIPs
	childSeedEnv  = "MODELVAULT_CHILD_SEED"  // the child's random seed
	childIDEnv    = "MODELVAULT_CHILD_ID"    // the child's index
)

// TestChild is the entry point of child processes (see childEnv).
func TestChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("runs only as a child process of the reliability tests")
	}
	var err error
	switch mode {
	case "crash":
		err = crashChild()
	case "replica":
		err = replicaChild()
	case "bomb":
		err = bombChild()
	case "lincheck":
		err = linProcChild()
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stdin  io.WriteCloser
	stderr *strings.Builder
	done   chan struct{}
}

// startChild starts the test binary in child mode with extra environment
// variables, in its own process group, and kills the group at cleanup.
func startChild(t testing.TB, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	newProcessGroup(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: in, stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &limitedWriter{b: c.stderr} // written by one goroutine, read after Wait
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewScanner(out)
	c.stdout.Buffer(make([]byte, 1<<16), 1<<24)
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	return c
}

// kill SIGKILLs the child's process group and waits for it (bounded).
func (c *child) kill() {
	killProcessGroup(c.cmd)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

// wait waits (bounded) for the child to exit and returns its error.
func (c *child) wait(d time.Duration) error {
	select {
	case <-c.done:
	case <-time.After(d):
		c.kill()
		return fmt.Errorf("child did not exit within %v; killed", d)
	}
	if err := c.cmd.ProcessState; err != nil && !err.Success() {
		return fmt.Errorf("child: %v\n%s", err, c.stderr.String())
	}
	return nil
}

// limitedWriter collects the first MiB of a child's stderr.
type limitedWriter struct{ b *strings.Builder }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > 0 && w.b.Len() < 1<<20 {
		w.b.Write(p)
	}
	return len(p), nil
}

// openChildStore opens the store named by childStoreEnv.
func openChildStore(ctx context.Context) (*storeurl.Store, error) {
	return storeurl.Open(ctx, os.Getenv(childStoreEnv), nil)
}

// writePackages writes the ZIPs of versions into a new directory.
func writePackages(t testing.TB, versions []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, v := range versions {
		if err := os.WriteFile(filepath.Join(dir, modelpkg.FileName(v)), zipOf(t, pkgFiles(v, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
