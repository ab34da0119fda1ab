//go:build !linux

package demo

import "syscall"

// childAttr leaves the child in the demo's process group on systems other
// than Linux; the demo still stops it on exit.
func childAttr() *syscall.SysProcAttr { return nil }
