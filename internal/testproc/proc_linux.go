package testproc

import "syscall"

// childAttr puts a child in a process group of its own and kills it if
// the parent dies without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
