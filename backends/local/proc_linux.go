package local

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func setPdeathsig(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

const procStartTimeKnowable = true

// waitExit blocks until child pid exits, leaving it unreaped.
func waitExit(pid int) error {
	var info unix.Siginfo
	return retryEINTR(func() error { return unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) })
}

// procStartTime reads field 22 (starttime, clock ticks since boot) of
// /proc/<pid>/stat; it tells a process from a later one given the same pid.
// A zombie (exited, not yet reaped) has none: it no longer runs.
func procStartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// comm (field 2) may hold spaces and parentheses: skip past the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state), so starttime (field 22) is fields[19].
	if len(fields) < 20 || string(fields[0]) == "Z" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(fields[19]), 10, 64)
	return v, err == nil
}

// syncLogs makes the job's log files durable. One syncfs beats an fsync per
// file once there are more than a handful of them.
func syncLogs(dir string) error {
	if ents, err := os.ReadDir(dir); err != nil || len(ents) <= 8 {
		return syncEach(dir)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}
