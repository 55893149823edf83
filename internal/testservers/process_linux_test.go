//go:build linux

package testservers

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const orphanChildEnv = "MODELVAULT_TESTSERVERS_ORPHAN_CHILD"

// TestServerDiesWithTheTestProcess: a test process killed outright (a
// test timeout, SIGKILL) never runs the cleanup that stops its servers;
// the kernel must stop them instead. A child test process starts a
// server (here sleep) and is killed; the server must go too.
func TestServerDiesWithTheTestProcess(t *testing.T) {
	if os.Getenv(orphanChildEnv) != "" {
		p, err := startProcess("sleep", []string{"600"}, nil, filepath.Join(os.Getenv(orphanChildEnv), "log"))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.cmd.Process.Pid)
		select {} // until killed
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Fatalf("sleep(1) is needed: %v", err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheTestProcess$", "-test.count=1")
	child.Env = append(os.Environ(), orphanChildEnv+"="+t.TempDir())
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, "child said %q", line)
	require.True(t, alive(pid), "the server runs")

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	// The kernel signals the server as the child exits; it is gone (or
	// a zombie no one has reaped yet) soon after. The bound only keeps a
	// failing test from hanging.
	for i := 0; alive(pid); i++ {
		if i == 3000 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d outlived the test process that started it", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
