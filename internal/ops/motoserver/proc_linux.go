package motoserver

import (
	"os"
	"syscall"
)

// procAttr puts moto_server in its own process group (so Stop kills its
// children too) and has the kernel kill it if this process dies first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
