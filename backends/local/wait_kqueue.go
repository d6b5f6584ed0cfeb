//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package local

import "golang.org/x/sys/unix"

// waitExit blocks until child pid exits, leaving it unreaped: kqueue reports
// the exit; a child that already exited cannot be registered (ESRCH).
func waitExit(pid int) error {
	kq, err := unix.Kqueue()
	if err != nil {
		return err
	}
	defer unix.Close(kq)
	var ev unix.Kevent_t
	unix.SetKevent(&ev, pid, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	out := make([]unix.Kevent_t, 1)
	for {
		n, err := unix.Kevent(kq, []unix.Kevent_t{ev}, out, nil)
		switch {
		case err == unix.ESRCH:
			return nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 1 && out[0].Flags&unix.EV_ERROR != 0:
			if unix.Errno(out[0].Data) == unix.ESRCH {
				return nil
			}
			return unix.Errno(out[0].Data)
		case n == 1:
			return nil
		}
	}
}
