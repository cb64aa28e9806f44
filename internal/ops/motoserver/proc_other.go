//go:build !linux && !windows

package motoserver

import (
	"os"
	"syscall"
)

// procAttr puts moto_server in its own process group so Stop kills its
// children too. (Only Linux can also tie its life to this process.)
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
