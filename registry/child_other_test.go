//go:build !unix

package registry_test

import "os/exec"

// newProcessGroup does nothing where there are no process groups.
func newProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the child itself.
func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
