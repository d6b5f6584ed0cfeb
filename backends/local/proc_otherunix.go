//go:build unix && !linux && !darwin

package local

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}

// Without a way to read a process's start time, survivors are not killed:
// a reused pid must never be signalled.
const procStartTimeKnowable = false

func procStartTime(int) (uint64, bool) { return 0, false }

func syncLogs(dir string) error { return syncEach(dir) }
