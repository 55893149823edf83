//go:build unix && !linux

package testservers

import "syscall"

// setDeathSignal does nothing where the kernel has no parent-death
// signal; a test process killed outright leaves its servers running.
func setDeathSignal(*syscall.SysProcAttr) {}
