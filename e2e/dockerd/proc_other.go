//go:build unix && !linux

package dockerd

import (
	"errors"
	"syscall"
	"time"
)

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: detach}
}

func unmount(string) error { return errors.New("unmount: linux only") }

// waitGone polls: only Linux has pidfds (and dockerd).
func waitGone(pid int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
	}
	return false
}
