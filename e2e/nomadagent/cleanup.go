//go:build unix

package nomadagent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// RemoveAllSafe removes dir unless something is mounted under it. Nomad
// mounts tmpfs (secrets) and binds (alloc_mounts) under its data dir; a
// recursive delete through a bind mount would delete the mount's source. It
// unmounts what it finds first and refuses if anything stays mounted.
func RemoveAllSafe(dir string) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	mounts, err := mountsUnder(dir)
	if err != nil {
		return fmt.Errorf("not removing %s: cannot check mounts: %w", dir, err)
	}
	if len(mounts) > 0 {
		sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
		for _, m := range mounts {
			_ = unmount(m) // deepest first
		}
		if mounts, err = mountsUnder(dir); err != nil || len(mounts) > 0 {
			return fmt.Errorf("not removing %s: still mounted: %v %v", dir, mounts, err)
		}
	}
	return os.RemoveAll(dir)
}

// mountsUnder lists mount points at or below dir from /proc/self/mountinfo.
func mountsUnder(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeOctal(f[4])
		if mp == abs || strings.HasPrefix(mp, abs+"/") {
			out = append(out, mp)
		}
	}
	return out, nil
}

// unescapeOctal undoes mountinfo's \040-style escapes of space, tab, \n, \.
func unescapeOctal(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// markedProcesses lists processes whose environment carries our marker for
// workDir: the agent's executors, logmons and raw_exec tasks.
func markedProcesses(workDir string) []int {
	want := []byte(envMarker + "=" + workDir + "\x00")
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && strings.Contains(string(env), string(want)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
