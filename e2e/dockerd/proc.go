//go:build unix

package dockerd

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ours reports whether pid is a live dockerd started with dir's config.
func ours(pid int, dir string) bool {
	argv, ok := cmdline(pid)
	return ok && strings.Contains(strings.Join(argv, "\x00")+"\x00", "\x00--config-file="+filepath.Join(dir, "daemon.json")+"\x00")
}

// leftovers lists live dockerd, containerd and shim processes whose command
// line names a path under dir: what a daemon that was killed leaves behind.
func leftovers(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		argv, ok := cmdline(pid)
		if !ok || len(argv) == 0 {
			continue
		}
		name := filepath.Base(argv[0])
		if (name == "dockerd" || strings.HasPrefix(name, "containerd")) && strings.Contains(strings.Join(argv, " "), dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cmdline is a live (not zombie) process's argv.
func cmdline(pid int) ([]string, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
		return nil, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), true
}

// unmountUnder unmounts, deepest first, whatever is still mounted at or
// under dir (overlay, shm and netns mounts of a daemon that was killed),
// and fails if anything stays.
func unmountUnder(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil || len(mounts) == 0 {
		return err
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		_ = unmount(m)
	}
	if mounts, err = mountsUnder(dir); err == nil && len(mounts) > 0 {
		err = fmt.Errorf("still mounted under %s: %v", dir, mounts)
	}
	return err
}

// mountsUnder lists mount points at or below dir from /proc/self/mountinfo.
func mountsUnder(dir string) ([]string, error) {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
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
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
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

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
