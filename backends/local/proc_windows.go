package local

import (
	"errors"
	"os"
	"syscall"
)

// Windows is a degraded platform for the local backend: pods are not in a
// process group (only the container's own process is killed), nothing kills
// them if the supervisor dies, and Delete reaches the supervisor through the
// database (it polls for the deletion mark) rather than a signal.

func podSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// supervisorSysProcAttr detaches the supervisor from the console, so Ctrl-C
// does not reach it.
func supervisorSysProcAttr() *syscall.SysProcAttr {
	const detachedProcess = 0x00000008
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
}

func signalGroup(p *os.Process, hard bool) { _ = p.Kill() }

var killGroup = func(int) {}

func waitExit(int) error { return errors.ErrUnsupported }

func stopSupervisor(int) error { return errors.ErrUnsupported }

func killSurvivor(int, uint64) bool { return false }

func procStartTime(int) (uint64, bool) { return 0, false }

func exitCode(ps *os.ProcessState) int32 { return int32(ps.ExitCode()) }

func markCloseOnExec(uintptr) {}

func syncLogs(dir string) error { return syncEach(dir) }

const procStartTimeKnowable = false
