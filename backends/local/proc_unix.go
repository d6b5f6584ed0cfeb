//go:build unix

package local

import (
	"os"
	"syscall"
)

// podSysProcAttr puts each container process in its own process group, so a
// signal reaches whatever it spawned, and (on Linux) has the kernel kill it if
// the supervisor dies.
func podSysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(attr)
	return attr
}

// supervisorSysProcAttr detaches the supervisor into its own session: a
// terminal's Ctrl-C or hang-up does not reach it.
func supervisorSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}

// signalGroup signals the process group led by a container process. hard is
// SIGKILL, otherwise SIGTERM.
func signalGroup(p *os.Process, hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-p.Pid, sig)
}

// killGroup SIGKILLs process group pgid. A variable: tests check when it runs.
var killGroup = func(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// stopSupervisor asks a live supervisor to stop its pods and exit.
func stopSupervisor(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// killSurvivor kills the process group of a container whose supervisor died,
// unless the pid now belongs to someone else (its start time differs) or that
// cannot be told.
func killSurvivor(pid int, start uint64) bool {
	if pid <= 0 || start == 0 {
		return false
	}
	now, ok := procStartTime(pid)
	switch {
	case ok && now != start:
		return false // pid reused; our group ended before it could be
	case !ok && !procStartTimeKnowable:
		return false
	}
	// Either the leader still runs (same start time) or it is gone; a group
	// id stays reserved while members live, so the group is still ours.
	return syscall.Kill(-pid, syscall.SIGKILL) == nil
}

// exitCode reports an exit status as Kubernetes does: 128+signal when killed.
func exitCode(ps *os.ProcessState) int32 {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ps.ExitCode())
}

// markCloseOnExec keeps an inherited descriptor from leaking into pods.
func markCloseOnExec(fd uintptr) { syscall.CloseOnExec(int(fd)) }
