//go:build unix

package local_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/local"
)

func TestSupervisorKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b := newBackend(dir)
	pidFile := filepath.Join(dir, "child.pid")
	ref := backends.Ref{Name: "orphan", Namespace: "default"}
	// The shell is the pod's process; its child needs the process-group kill.
	if _, err := b.Submit(ctx, job(t, manifest("orphan", "", "sleep 60 & echo $! > "+pidFile+"; echo started; wait"))); err != nil {
		t.Fatal(err)
	}
	followCtx, stop := context.WithCancel(ctx)
	var seen lines
	_ = b.Logs(followCtx, ref, backends.LogOptions{Follow: true}, sinkFunc(func(s string) {
		seen.got = append(seen.got, s)
		if s == "started" {
			stop()
		}
	}))
	if len(seen.got) == 0 {
		t.Fatal("the job never started")
	}
	// The Status right after Submit's supervisor wrote once is Running.
	if st, err := b.Status(ctx, ref); err != nil || st.Phase.Terminal() {
		t.Fatalf("before the kill: %v %v", st, err)
	}
	pid, err := local.SupervisorPID(b, ref)
	if err != nil || pid <= 0 {
		t.Fatalf("supervisor pid: %d %v", pid, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid, false) // reaped by Submit's goroutine once every thread is gone
	st, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != backends.Failed || st.Reason != backends.ReasonSupervisorLost || st.CompletionTime == nil {
		t.Fatalf("after the kill: %s/%s completion %v, want Failed/SupervisorLost with a completion time", st.Phase, st.Reason, st.CompletionTime)
	}
	if !strings.Contains(st.Message, "stopped pods: orphan-") || !strings.Contains(st.Message, fmt.Sprint(pid)) {
		t.Errorf("message %q should name the supervisor pid and the stopped pod", st.Message)
	}
	atts := describe(t, ctx, b, ref).Attempts
	if st.Active != 0 || st.Failed != 1 || len(atts) != 1 || atts[0].Reason != backends.ReasonSupervisorLost {
		t.Errorf("counts %d/%d/%d attempts %+v", st.Active, st.Succeeded, st.Failed, atts)
	}
	child, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var childPID int
	fmt.Sscan(string(child), &childPID)
	waitGone(t, childPID, true)
	var after lines
	if err := b.Logs(ctx, ref, backends.LogOptions{}, &after); err != nil || strings.Join(after.got, "\n") != "started" {
		t.Errorf("logs after the loss: %q %v", after.got, err)
	}
	if st := finish(t, ctx, b, ref); st.Reason != backends.ReasonSupervisorLost {
		t.Errorf("Watch: %s", st.Reason)
	}
}

type sinkFunc func(string)

func (f sinkFunc) Line(_ backends.LogSource, s string) { f(s) }

// waitGone waits (bounded) until pid no longer runs. A zombie counts only
// if allowed: a multi-threaded leader is a zombie while its other threads
// still exit (and hold its files, such as a lock).
func waitGone(t *testing.T, pid int, zombie bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); zombie && err == nil {
			if i := strings.LastIndexByte(string(b), ')'); i > 0 && b[i+2] == 'Z' {
				return
			}
		}
	}
	t.Fatalf("process %d still runs", pid)
}

func TestTTL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b := newBackend(dir)
	for _, name := range []string{"short", "long"} {
		ttl := map[string]string{"short": "0", "long": "3600"}[name]
		if _, err := b.Submit(ctx, job(t, manifest(name, "  ttlSecondsAfterFinished: "+ttl+"\n", "echo hi"))); err != nil {
			t.Fatal(err)
		}
	}
	short, long := backends.Ref{Name: "short"}, backends.Ref{Name: "long"}
	// Watch still shows the finished job before it goes.
	if st := finish(t, ctx, b, short); st.Phase != backends.Succeeded {
		t.Fatalf("short: %s", st.Phase)
	}
	if st := finish(t, ctx, b, long); st.Phase != backends.Succeeded {
		t.Fatalf("long: %s", st.Phase)
	}
	if _, err := b.Status(ctx, short); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("status after ttl 0: %v, want not found", err)
	}
	if _, err := b.Status(ctx, long); err != nil {
		t.Errorf("status within ttl: %v", err)
	}
	jobs, _ := os.ReadDir(filepath.Join(dir, "jobs"))
	if len(jobs) != 1 {
		t.Errorf("%d job directories left, want only the long job's", len(jobs))
	}
	// Watch may report a job that had finished before it looked while its
	// supervisor still writes its last files: the directory goes after.
	for _, j := range jobs {
		waitLockFree(t, filepath.Join(dir, "jobs", j.Name(), "lock"))
	}
}

// waitLockFree waits until no process holds the lock file at path (a
// supervisor's, until it exits).
func waitLockFree(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return // gone: nobody holds it
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_SH) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s still locked after 10s", path)
	}
}
