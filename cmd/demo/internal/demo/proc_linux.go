package demo

import "syscall"

// childAttr puts a child in its own process group and kills it if the demo
// dies without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
