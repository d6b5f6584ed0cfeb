//go:build unix

package main

import (
	"context"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/jobspec"
)

// interruptOnFirstUpdate sends SIGINT to this process once the wait is
// watching: the signal handler is certainly installed by then.
type interruptOnFirstUpdate struct {
	backends.Backend
}

func (b interruptOnFirstUpdate) Watch(ctx context.Context, ref backends.Ref, fn func(*backends.Status) bool) error {
	sent := false
	return b.Backend.Watch(ctx, ref, func(st *backends.Status) bool {
		if !sent {
			sent = true
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				panic(err)
			}
		}
		return fn(st)
	})
}

func TestInterruptedWaitLeavesJobRunning(t *testing.T) {
	b, err := local.Open(local.Options{StateDir: t.TempDir(), Backoff: 10 * time.Millisecond}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	job, err := jobspec.Parse("sleepy.yaml", strings.NewReader(`apiVersion: batch/v1
kind: Job
metadata: {name: sleepy}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: none, command: ["sleep", "30"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := b.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer b.Delete(ctx, ref)

	_, err = waitJob(ctx, interruptOnFirstUpdate{b}, ref, 0, io.Discard)
	if code := exitCode(err); code != exitInterrupted {
		t.Fatalf("wait returned %v (exit %d), want exit %d", err, code, exitInterrupted)
	}
	if !strings.Contains(err.Error(), "job sleepy is left running") {
		t.Errorf("message %q does not say the job keeps running", err)
	}
	after, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if after.Phase.Terminal() {
		t.Fatalf("job is %s after an interrupted wait, want it still running", after.Phase)
	}
}
