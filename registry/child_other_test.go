//go:build !unix

package registry_test

import (
	"errors"
	"os/exec"
)

// newProcessGroup does nothing where there are no process groups.
func newProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the child itself.
func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// linProcChild is the multi-process linearizability check's child, which
// runs only where processes can be killed with SIGKILL.
func linProcChild() error { return errors.New("the multi-process check runs on Unix only") }
