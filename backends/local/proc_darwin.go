package local

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Darwin has no parent-death signal: pods of a killed supervisor are stopped
// by whichever command notices the loss (killSurvivor).
func setPdeathsig(*syscall.SysProcAttr) {}

const procStartTimeKnowable = true

func procStartTime(pid int) (uint64, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || kp.Proc.P_pid != int32(pid) || kp.Proc.P_stat == 5 { // SZOMB: exited, not reaped

		return 0, false
	}
	return uint64(kp.Proc.P_starttime.Nano()), true
}

func syncLogs(dir string) error { return syncEach(dir) }
