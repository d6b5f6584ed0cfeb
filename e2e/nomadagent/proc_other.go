//go:build unix && !linux

package nomadagent

import (
	"errors"
	"syscall"
)

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: detach}
}

func unmount(string) error { return errors.New("unmount: linux only") }
