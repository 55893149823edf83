//go:build !unix

package testservers

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing where there are no process groups.
func setProcessGroup(*exec.Cmd) {}

// terminateGroup asks cmd to stop: an interrupt where the system can send
// one; on Windows, which cannot, it kills the process.
func terminateGroup(cmd *exec.Cmd) {
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		_ = cmd.Process.Kill()
	}
}

// killGroup kills the process.
func killGroup(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
}
