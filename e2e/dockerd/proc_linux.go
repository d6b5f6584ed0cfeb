package dockerd

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	// Its own process group, so a terminal's Ctrl-C reaches only the test
	// command and the caller stops dockerd after it; it dies with the caller.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func unmount(path string) error { return syscall.Unmount(path, syscall.MNT_DETACH) }

// waitGone waits until pid, not our child, has exited: its pidfd turns
// readable then.
func waitGone(pid int, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}
