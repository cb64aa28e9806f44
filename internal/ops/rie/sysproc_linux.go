package rie

import "syscall"

// sysProcAttr puts the emulator in its own process group, and has Linux
// kill it when the process that started it dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
