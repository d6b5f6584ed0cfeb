//go:build linux

// Package faults injects the faults a careful operator's machine sees —
// full disks, immutable files, stopped and killed processes, corrupt
// files, escaping processes, concurrency — into the local backend, through
// the real batchctl binary, and checks that no outcome is lost or
// falsified, no process leaks and nothing panics. It ends by printing:
// faults injected / outcomes kept / processes leaked / panics.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	bin string // the batchctl binary under test

	injected, kept, leaked, panics atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "batchctl-faults-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "batchctl")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/batchctl")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Println("building batchctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	fmt.Printf("faults: %d injected / %d outcomes kept / %d processes leaked / %d panics\n",
		injected.Load(), kept.Load(), leaked.Load(), panics.Load())
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's state directory and helpers.
type env struct {
	t     *testing.T
	state string
	work  string
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, state: filepath.Join(t.TempDir(), "state"), work: t.TempDir()}
	t.Cleanup(func() { e.run("delete", "--all", "-A", "--timeout", "20s") })
	return e
}

// result of one batchctl command.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (e *env) run(args ...string) result {
	return e.runEnv(nil, args...)
}

func (e *env) runEnv(extra []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "BATCHCTL_LOCAL_STATE_DIR="+e.state, "BATCHCTL_LOCAL_BACKOFF=10ms",
		"XDG_CONFIG_HOME="+e.work, "BATCHCTL_QUIET_NOTES=true")
	cmd.Env = append(cmd.Env, extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("batchctl %v: %v", args, err)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		panics.Add(1)
		e.t.Errorf("batchctl %v panicked:\n%s", args, r.stderr)
	}
	return r
}

// job writes a manifest running argv and returns its path.
func (e *env) job(name string, extraSpec string, argv ...string) string {
	q, _ := json.Marshal(argv)
	m := fmt.Sprintf("apiVersion: batch/v1\nkind: Job\nmetadata: {name: %s}\nspec:\n%s  template:\n    spec:\n      restartPolicy: Never\n"+
		"      containers: [{name: main, image: busybox, command: %s}]\n", name, extraSpec, q)
	p := filepath.Join(e.work, name+".yaml")
	if err := os.WriteFile(p, []byte(m), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) status(name string) map[string]any {
	e.t.Helper()
	r := e.run("status", name, "-o", "json")
	var st map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
		e.t.Fatalf("status %s: exit %d %s %s", name, r.code, r.stdout, r.stderr)
	}
	return st
}

func (e *env) uid(name string) string { return e.status(name)["uid"].(string) }

func (e *env) jobDir(name string) string { return filepath.Join(e.state, "jobs", e.uid(name)) }

// outcome checks a job's final phase against what Kubernetes would report
// for what its pod did, and counts the kept outcome.
func (e *env) outcome(name, want string) {
	e.t.Helper()
	r := e.run("wait", name, "--timeout", "60s")
	st := e.status(name)
	if st["phase"] != want {
		e.t.Errorf("job %s ended %v (%v: %v), want %s; wait exited %d: %s", name, st["phase"], st["reason"], st["message"], want, r.code, r.stderr)
		return
	}
	kept.Add(1)
}

func supervisorPID(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "supervisor"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
	return pid
}

// gone waits for a process to end; a process still there after the wait
// leaked.
func gone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	leaked.Add(1)
	t.Errorf("process %d still runs", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// A full disk: the job fills the state directory's filesystem with its own
// output; its outcome, written in place into the preallocated outcome file,
// is kept.
func TestFullDisk(t *testing.T) {
	needRoot(t)
	e := newEnv(t)
	if err := os.MkdirAll(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", e.state).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", e.state).Run() })
	injected.Add(1)
	r := e.run("submit", e.job("filler", "", "sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo; exit 0"))
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.stderr)
	}
	e.outcome("filler", "Succeeded")
}

// Immutable files: state.json (the rename over it fails) and then the
// whole job directory (no new file at all) made immutable while the job
// runs; the outcome is still recorded and reported.
func TestImmutableState(t *testing.T) {
	needRoot(t)
	for _, what := range []string{"state.json", "."} {
		t.Run(what, func(t *testing.T) {
			e := newEnv(t)
			name := "immutable" + map[string]string{"state.json": "file", ".": "dir"}[what]
			if r := e.run("submit", e.job(name, "", "sleep", "1")); r.code != 0 {
				t.Fatalf("submit: %s", r.stderr)
			}
			target := filepath.Join(e.jobDir(name), what)
			if out, err := exec.Command("chattr", "+i", target).CombinedOutput(); err != nil {
				t.Skipf("chattr: %v %s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("chattr", "-i", target).Run() })
			injected.Add(1)
			e.outcome(name, "Succeeded")
			_ = exec.Command("chattr", "-i", target).Run()
		})
	}
}

// A supervisor stopped (SIGSTOP) mid-job blocks no other job's commands,
// and its own job's outcome is right once it continues.
func TestStoppedSupervisor(t *testing.T) {
	e := newEnv(t)
	if r := e.run("submit", e.job("frozen", "", "sleep", "1")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	pid := supervisorPID(t, e.jobDir("frozen"))
	injected.Add(1)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"submit", "--wait", e.job("other", "", "true")},
		{"status", "frozen"},
		{"list"},
	} {
		if r := e.run(args...); r.code != 0 || r.took > 3*time.Second {
			t.Errorf("batchctl %v with a stopped supervisor: exit %d after %v: %s", args[0], r.code, r.took, r.stderr)
		}
	}
	if st := e.status("frozen"); st["phase"] == "Failed" {
		t.Errorf("a stopped supervisor's job was declared %v: %v", st["reason"], st["message"])
	}
	_ = syscall.Kill(pid, syscall.SIGCONT)
	e.outcome("frozen", "Succeeded")
}

// Many submits at once are all accepted: no lock is shared between jobs.
func TestConcurrentSubmits(t *testing.T) {
	e := newEnv(t)
	const n = 200
	injected.Add(1)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.run("submit", "-q", e.job(fmt.Sprintf("many-%d", i), "", "true")); r.code != 0 {
				failed.Add(1)
				t.Errorf("submit %d: exit %d %s", i, r.code, r.stderr)
			}
		}()
	}
	wg.Wait()
	if failed.Load() == 0 {
		kept.Add(1)
	}
	r := e.run("wait", "--all", "--timeout", "120s")
	if r.code != 0 {
		t.Errorf("wait --all: %d %s", r.code, r.stderr)
	}
}

// Corrupt files — random bytes over a job's record, state or name —
// affect only that job: every command answers without a panic, the error
// names the file and the way out, other jobs work, doctor --repair heals.
func TestCorruption(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"good", "victim"} {
		if r := e.run("submit", "--wait", e.job(name, "", "true")); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	dir := e.jobDir("victim")
	for _, file := range []string{"state.json", "job.json", "attempts.jsonl", "outcome", "../../names/default/victim"} {
		path := filepath.Join(dir, file)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for try := range 5 {
			junk := make([]byte, 1+rand.IntN(600))
			for i := range junk {
				junk[i] = byte(rand.IntN(256))
			}
			if try == 0 {
				junk = append(orig[:len(orig)/2:len(orig)/2], junk...) // torn
			}
			if err := os.WriteFile(path, junk, 0o600); err != nil {
				t.Fatal(err)
			}
			injected.Add(1)
			for _, args := range [][]string{{"status", "victim"}, {"describe", "victim"}, {"logs", "victim"}, {"list"}, {"status", "good"}} {
				r := e.run(args...)
				if args[len(args)-1] == "good" && r.code != 0 {
					t.Errorf("%s corrupt: status of another job exited %d: %s", file, r.code, r.stderr)
				}
				if r.code == 2 {
					t.Errorf("%s corrupt: %v exited 2 (a usage error): %s", file, args, r.stderr)
				}
				if r.code == 3 && !strings.Contains(r.stderr, "doctor") {
					t.Errorf("%s corrupt: %v: the error does not name the way out: %s", file, args, r.stderr)
				}
			}
			kept.Add(1)
		}
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run("doctor", "--repair"); r.code != 0 {
		t.Errorf("doctor --repair: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := e.run("doctor"); r.code != 0 {
		t.Errorf("doctor after repair: %d %s", r.code, r.stdout)
	}
}

// Processes a pod starts are stopped with it however they detach: setsid,
// double forks; after the job's deadline, after delete, and after its
// supervisor is SIGKILLed (then the next command stops them).
func TestEscapingProcesses(t *testing.T) {
	for _, how := range []string{"deadline", "delete", "supervisor-killed"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			pidFile := filepath.Join(e.work, "escaped.pid")
			forkedFile := filepath.Join(e.work, "forked.pid")
			spec := ""
			if how == "deadline" {
				spec = "  activeDeadlineSeconds: 2\n  backoffLimit: 0\n"
			}
			// A new session, and a double fork (reparented away from the pod).
			script := "setsid sh -c 'echo $$ > " + pidFile + "; exec sleep 300' & (sh -c 'echo $$ > " + forkedFile + "; exec sleep 301' &) ; echo started; sleep 300"
			if r := e.run("submit", e.job("escape", spec, "sh", "-c", script)); r.code != 0 {
				t.Fatal(r.stderr)
			}
			var pids []int
			for _, f := range []string{pidFile, forkedFile} {
				waitFile(t, f)
				b, _ := os.ReadFile(f)
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				pids = append(pids, pid)
			}
			injected.Add(1)
			switch how {
			case "deadline":
				e.outcome("escape", "Failed")
			case "delete":
				if r := e.run("delete", "escape"); r.code != 0 {
					t.Fatal(r.stderr)
				}
				kept.Add(1) // deleted, as asked
			case "supervisor-killed":
				sup := supervisorPID(t, e.jobDir("escape"))
				if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				gone(t, sup, 5*time.Second) // its lock goes with it
				e.outcome("escape", "Failed")
			}
			for _, pid := range pids {
				gone(t, pid, 10*time.Second)
			}
		})
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// A deleted lock file does not make a healthy job look lost.
func TestDeletedLockFile(t *testing.T) {
	e := newEnv(t)
	if r := e.run("submit", e.job("locked", "", "sleep", "1")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	injected.Add(1)
	dir := e.jobDir("locked")
	if err := os.Remove(filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	if st := e.status("locked"); st["phase"] == "Failed" {
		sup, _ := os.ReadFile(filepath.Join(dir, "supervisor"))
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", supervisorPID(t, dir)))
		t.Fatalf("the job was declared %v with its supervisor alive: %v (supervisor %q, /proc: %.120s)", st["reason"], st["message"], sup, stat)
	}
	e.outcome("locked", "Succeeded")
}

// A lock file held by someone else (`flock -x` on it, for 100 s): it waits
// behind the supervisor, then holds the lock once the job ended. The
// outcome is the pod's, and neither this job's commands nor another job's
// wait for the outsider.
func TestHeldLockFile(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1)")
	}
	e := newEnv(t)
	if r := e.run("submit", e.job("held", "", "sleep", "1")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	injected.Add(1)
	holder := exec.Command("flock", "-x", filepath.Join(e.jobDir("held"), "lock"), "sleep", "100")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	if r := e.run("wait", "held", "--timeout", "30s"); r.code != 0 || r.took > 3*time.Second {
		t.Errorf("wait with the lock file held by another process: exit %d after %v: %s", r.code, r.took, r.stderr)
	}
	for _, args := range [][]string{
		{"status", "held"},
		{"logs", "held"},
		{"list"},
		{"submit", "--wait", e.job("beside", "", "true")},
	} {
		if r := e.run(args...); r.code != 0 || r.took > 3*time.Second {
			t.Errorf("batchctl %v with the lock file held: exit %d after %v: %s", args[0], r.code, r.took, r.stderr)
		}
	}
	e.outcome("held", "Succeeded")
	if r := e.run("delete", "held", "--timeout", "10s"); r.code != 0 {
		t.Errorf("delete with the lock file held: exit %d after %v: %s", r.code, r.took, r.stderr)
	}

	// The outsider's lock does not keep a dead supervisor alive: killed,
	// its job is SupervisorLost at the next look, not Running forever.
	if r := e.run("submit", e.job("heldlost", "", "sleep", "30")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	dir := e.jobDir("heldlost")
	pid := supervisorPID(t, dir)
	injected.Add(1)
	holder2 := exec.Command("flock", "-x", filepath.Join(dir, "lock"), "sleep", "100")
	if err := holder2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder2.Process.Kill(); _ = holder2.Wait() })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	gone(t, pid, 5*time.Second)
	if r := e.run("wait", "heldlost", "--timeout", "20s"); r.code != 1 || r.took > 3*time.Second {
		t.Errorf("wait of a job whose supervisor died, its lock file held by another process: exit %d after %v: %s", r.code, r.took, r.stderr)
	}
	if st := e.status("heldlost"); st["phase"] != "Failed" || st["reason"] != "SupervisorLost" {
		t.Errorf("job of a dead supervisor with its lock held elsewhere: %v %v (%v)", st["phase"], st["reason"], st["message"])
	} else {
		kept.Add(1)
	}
}

// Input that overflows Kubernetes' arithmetic ends as Kubernetes ends it,
// and credentials batchctl reads never reach a job.
func TestInputAndSecrets(t *testing.T) {
	e := newEnv(t)
	injected.Add(1)
	if r := e.run("submit", e.job("overflow", "  activeDeadlineSeconds: 9223372037\n", "sleep", "30")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	e.outcome("overflow", "Failed")
	if st := e.status("overflow"); st["reason"] != "DeadlineExceeded" || st["failed"] != float64(0) {
		t.Errorf("overflowing deadline: %v with %v failed, want DeadlineExceeded before any pod, as Kubernetes", st["reason"], st["failed"])
	}
	injected.Add(1)
	r := e.runEnv([]string{"NOMAD_TOKEN=s3cr3t-nomad", "BATCHCTL_NOMAD_TOKEN=s3cr3t-batchctl"}, "submit", "--wait", e.job("env", "", "env"))
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if logs := e.run("logs", "env"); strings.Contains(logs.stdout, "s3cr3t") {
		t.Errorf("a credential reached the job's environment")
	} else {
		kept.Add(1)
	}
}

// A link planted where a log file will be is not followed.
func TestPlantedSymlink(t *testing.T) {
	e := newEnv(t)
	if r := e.run("submit", e.job("planted", "", "sh", "-c", "sleep 1; echo secret-output")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	target := filepath.Join(e.work, "stolen")
	logs := filepath.Join(e.jobDir("planted"), "logs")
	injected.Add(1)
	// Plant a link where the pod's first log will be written.
	waitFile(t, filepath.Join(e.jobDir("planted"), "attempts.jsonl"))
	attempts, _ := os.ReadFile(filepath.Join(e.jobDir("planted"), "attempts.jsonl"))
	var line struct {
		Attempt struct{ Pod string }
	}
	_ = json.Unmarshal(bytes.SplitN(attempts, []byte("\n"), 2)[0], &line)
	if line.Attempt.Pod == "" {
		t.Skip("the pod is not known yet")
	}
	_ = os.Symlink(target, filepath.Join(logs, line.Attempt.Pod+"_0_main.log"))
	e.run("wait", "planted")
	if b, err := os.ReadFile(target); err == nil && bytes.Contains(b, []byte("secret-output")) {
		t.Errorf("the job's output was written through a planted link")
	} else {
		kept.Add(1)
	}
}

// A read-only state directory can still be read.
func TestReadOnlyStateDir(t *testing.T) {
	e := newEnv(t)
	if r := e.run("submit", "--wait", e.job("ro", "", "echo", "hello")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	injected.Add(1)
	if err := exec.Command("mount", "--bind", "-o", "ro", e.state, e.state).Run(); err != nil {
		// Not root: make it read-only by mode instead (root would ignore it).
		if os.Geteuid() == 0 {
			t.Skip("cannot bind-mount read-only")
		}
		_ = os.Chmod(e.state, 0o500)
		t.Cleanup(func() { _ = os.Chmod(e.state, 0o700) })
	} else {
		_ = exec.Command("mount", "-o", "remount,bind,ro", e.state).Run()
		t.Cleanup(func() { _ = exec.Command("umount", e.state).Run() })
	}
	for _, args := range [][]string{{"status", "ro"}, {"list"}, {"logs", "ro"}, {"describe", "ro"}} {
		if r := e.run(args...); r.code != 0 {
			t.Errorf("%v on a read-only state directory: exit %d: %s", args, r.code, r.stderr)
		}
	}
	kept.Add(1)
	_ = exec.Command("umount", e.state).Run()
}

// Killed submits and deletes leave nothing doctor cannot clean.
func TestInterruptedCommands(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 10 {
		cmd := exec.CommandContext(ctx, bin, "submit", e.job(fmt.Sprintf("cut-%d", i), "", "true"))
		cmd.Env = append(os.Environ(), "BATCHCTL_LOCAL_STATE_DIR="+e.state)
		_ = cmd.Start()
		time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	injected.Add(1)
	time.Sleep(time.Second)
	r := e.run("doctor", "--repair")
	if r.code != 0 {
		t.Errorf("doctor --repair: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := e.run("list"); r.code != 0 {
		t.Errorf("list after interrupted submits: %d %s", r.code, r.stderr)
	} else {
		kept.Add(1)
	}
}
