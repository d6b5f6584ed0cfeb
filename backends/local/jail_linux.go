package local

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A jail is a cgroup holding one container's processes: every process it
// starts, however it detaches (setsid, a double fork), stays in it, so
// stopping the container stops them all, and a job whose supervisor died is
// cleaned up by killing its whole cgroup tree, without knowing any pid.
//
// cgroup v1 uses the freezer hierarchy (freeze, kill everything, thaw);
// cgroup v2 writes cgroup.kill. Where neither is writable (not root, no
// delegation) there are no jails: containers are process groups, as before,
// and the supervisor is a child subreaper so that what escapes its group is
// still stopped when the job ends.
type jails struct {
	root string // batchctl's cgroup directory; "" when jails are unavailable
	v2   bool
	self string // the supervisor's own cgroup, returned to after each start
}

// cgroupRoot is where cgroup hierarchies are mounted; a variable for tests.
var cgroupRoot = "/sys/fs/cgroup"

// newJails finds a cgroup hierarchy this process may manage.
func newJails() *jails {
	j := &jails{}
	if self, ok := ownCgroup("freezer"); ok {
		base := filepath.Join(cgroupRoot, "freezer")
		if isMount(base) && os.MkdirAll(filepath.Join(base, "batchctl"), 0o755) == nil {
			j.root, j.self = filepath.Join(base, "batchctl"), filepath.Join(base, self)
			return j
		}
	}
	if self, ok := ownCgroup(""); ok {
		if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
			own := filepath.Join(cgroupRoot, self)
			// Processes may not live in an inner cgroup of v2: batchctl's
			// sits beside the supervisor's, under its parent.
			root := filepath.Join(filepath.Dir(own), "batchctl")
			if os.MkdirAll(root, 0o755) == nil {
				if _, err := os.Stat(filepath.Join(root, "cgroup.kill")); err == nil { // Linux 5.14+
					j.root, j.self, j.v2 = root, own, true
					return j
				}
			}
		}
	}
	return j
}

// ownCgroup reads this process's cgroup path in the hierarchy of controller
// ("" is the v2 unified hierarchy).
func ownCgroup(controller string) (string, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], true
		}
		for _, c := range strings.Split(parts[1], ",") {
			if controller != "" && c == controller {
				return parts[2], true
			}
		}
	}
	return "", false
}

func isMount(dir string) bool {
	var st, parent unix.Stat_t
	if unix.Stat(dir, &st) != nil || unix.Stat(filepath.Dir(dir), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

func (j *jails) available() bool { return j != nil && j.root != "" }

// path is the jail of one container of a job's pod; jobPath holds them all.
func (j *jails) path(uid, pod, container string) string {
	return filepath.Join(j.root, uid, pod, container)
}
func (j *jails) jobPath(uid string) string { return filepath.Join(j.root, uid) }

// create makes a jail.
func (j *jails) create(path string) error { return os.MkdirAll(path, 0o755) }

// enter moves this process into path, so that a process forked now starts
// inside it, race-free; leave moves it back. The supervisor starts
// containers from one goroutine, so no two starts overlap.
func (j *jails) enter(path string) (leave func(), err error) {
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(path, "cgroup.procs"), pid, 0); err != nil {
		return nil, err
	}
	return func() { _ = os.WriteFile(filepath.Join(j.self, "cgroup.procs"), pid, 0) }, nil
}

// kill SIGKILLs every process in path and the cgroups below it and waits
// (briefly) until they are gone. A process frozen first cannot fork a new
// one in between.
func (j *jails) kill(path string) {
	if !j.available() || !strings.HasPrefix(path, j.root+string(filepath.Separator)) {
		return
	}
	if len(j.procs(path)) == 0 {
		// The usual end of a pod, nothing left behind; and an empty
		// cgroup stays empty: no process in it is left to fork.
		return
	}
	if j.v2 {
		if os.WriteFile(filepath.Join(path, "cgroup.kill"), []byte("1"), 0) == nil {
			j.waitEmpty(path)
			return
		}
	} else if os.WriteFile(filepath.Join(path, "freezer.state"), []byte("FROZEN"), 0) == nil {
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if b, err := os.ReadFile(filepath.Join(path, "freezer.state")); err != nil || bytes.HasPrefix(b, []byte("FROZEN")) {
				break
			}
		}
		defer func() {
			_ = os.WriteFile(filepath.Join(path, "freezer.state"), []byte("THAWED"), 0)
			j.waitEmpty(path)
		}()
	}
	for _, pid := range j.procs(path) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// signal sends sig to every process in path (not frozen: SIGTERM is to be
// handled).
func (j *jails) signal(path string, sig syscall.Signal) {
	for _, pid := range j.procs(path) {
		_ = syscall.Kill(pid, sig)
	}
}

// procs lists the processes in path and every cgroup below it.
func (j *jails) procs(path string) []int {
	var out []int
	_ = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				out = append(out, pid)
			}
		}
		return nil
	})
	return out
}

func (j *jails) waitEmpty(path string) {
	for deadline := time.Now().Add(2 * time.Second); len(j.procs(path)) > 0 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
}

// remove deletes path and the cgroups below it, deepest first; cgroups still
// holding a process stay.
func (j *jails) remove(path string) {
	if !j.available() || !strings.HasPrefix(path, j.root+string(filepath.Separator)) {
		return
	}
	var dirs []string
	_ = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			continue
		}
	}
}

// becomeSubreaper makes orphans of the supervisor's descendants its
// children, so that processes that escape a process group are still found
// (killOrphans) when the job ends.
func becomeSubreaper() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// killOrphans SIGKILLs every remaining child of this process but keep.
func killOrphans(keep map[int]bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || keep[pid] {
			continue
		}
		if ppid, ok := parentPID(pid); ok && ppid == self {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func parentPID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return ppid, err == nil
}
