//go:build unix

package registry_test

import (
	"os/exec"
	"syscall"
)

// newProcessGroup starts cmd in its own process group.
func newProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killProcessGroup SIGKILLs cmd's process group.
func killProcessGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
