package nomadagent

import "syscall"

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	// Dies with the test process instead of outliving a crashed `go test`.
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

func unmount(path string) error { return syscall.Unmount(path, 0) }
