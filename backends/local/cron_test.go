//go:build unix

package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

const hourlyCron = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hourly
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox, command: ["sh", "-c", "echo ran"]}]
`

// schedulerPid reads the pid the CronJob's scheduler was started with.
func schedulerPid(t *testing.T, dir string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "cron", "jobs", "*", "supervisor"))
	if len(files) != 1 {
		t.Fatalf("scheduler pid files: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A scheduler that dies is never shown scheduling: the next command finds
// its lock free and reports the CronJob Lost; resume starts a new one.
func TestCronSchedulerLostAndResumed(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(dir)
	sch := b.(backends.Scheduler)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cj, err := jobspec.ParseCronJob("hourly.yaml", strings.NewReader(hourlyCron))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sch.SubmitCronJob(ctx, cj); err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: "hourly"}
	defer sch.DeleteCronJob(context.Background(), ref)
	pid := schedulerPid(t, dir)
	// It survives the shell: a session of its own.
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Errorf("scheduler %d: session %d (%v), want its own", pid, sid, err)
	}
	st, err := sch.CronJobStatus(ctx, ref, false)
	if err != nil || st.State != backends.CronScheduled || st.NextScheduleTime == nil {
		t.Fatalf("status %+v, %v", st, err)
	}

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range 100 { // the kernel releases its lock as it reaps it
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err = sch.CronJobStatus(ctx, ref, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != backends.CronLost || st.Reason != backends.ReasonSchedulerLost || st.NextScheduleTime != nil ||
		!strings.Contains(st.Message, "pid "+strconv.Itoa(pid)) {
		t.Errorf("after the scheduler died: state %s reason %q next %v message %q", st.State, st.Reason, st.NextScheduleTime, st.Message)
	}
	// A Job can still be triggered: its supervisor is its own.
	if _, err := sch.TriggerCronJob(ctx, ref, "by-hand"); err != nil {
		t.Errorf("trigger while lost: %v", err)
	}

	if err := sch.SuspendCronJob(ctx, ref, false); err != nil {
		t.Fatalf("resume: %v", err)
	}
	st, err = sch.CronJobStatus(ctx, ref, false)
	if err != nil || st.State != backends.CronScheduled || st.Reason != "" || st.NextScheduleTime == nil {
		t.Errorf("resumed: %+v, %v", st, err)
	}
	if np := schedulerPid(t, dir); np == pid {
		t.Errorf("resume did not start a new scheduler (pid %d)", np)
	}

	if err := sch.DeleteCronJob(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Status(ctx, backends.Ref{Name: "by-hand"}); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("the deleted CronJob's job: %v, want not found", err)
	}
}

// A Delete interrupted once the scheduler is gone is finished by the next
// command, never reported lost.
func TestCronInterruptedDeleteIsFinished(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(dir)
	sch := b.(backends.Scheduler)
	ctx := context.Background()
	cj, err := jobspec.ParseCronJob("hourly.yaml", strings.NewReader(hourlyCron))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sch.SubmitCronJob(ctx, cj); err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: "hourly"}
	pid := schedulerPid(t, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "cron", "jobs", "*"))
	if err := os.WriteFile(filepath.Join(files[0], "deleting"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := sch.CronJobStatus(ctx, ref, false); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("status after an interrupted delete: %v, want not found", err)
	}
	if cjs, err := sch.ListCronJobs(ctx, backends.ListOptions{}); err != nil || len(cjs) != 0 {
		t.Errorf("list: %v, %v", cjs, err)
	}
}
