//go:build linux

package testservers

import "syscall"

// setDeathSignal has the kernel kill the server when the test process
// dies, even by SIGKILL or a test timeout, which never runs the
// cleanups that stop it: a leaked server would load the machine for the
// tests that follow.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
