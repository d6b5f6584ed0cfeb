package local

import "golang.org/x/sys/unix"

// totalMemory is this machine's RAM in bytes, the memory limit of a
// container that sets none.
func totalMemory() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
