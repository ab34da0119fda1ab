//go:build !linux

package testproc

import "syscall"

// childAttr leaves the child in the parent's process group on systems
// other than Linux; the parent still stops it when it ends normally.
func childAttr() *syscall.SysProcAttr { return nil }
