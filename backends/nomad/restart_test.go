//go:build unix

package nomad_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// The acceptance: restarting the agent while `wait` watches a job
// does not lose its outcome. The agent keeps state on disk (persistent
// mode); the task exits 3 only once the test has restarted the agent, so
// Watch cannot have read the outcome before.
func TestWaitSurvivesAgentRestart(t *testing.T) {
	a := startAgent(t, true)
	b := newBackend(t, a.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mark := filepath.Join(t.TempDir(), "restarted")
	job, err := jobspec.Parse("restart.yaml", strings.NewReader(`apiVersion: batch/v1
kind: Job
metadata:
  name: restart
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "until [ -e \"$MARK\" ]; do sleep 0.1; done; exit 3"]
        env:
        - name: MARK
          value: `+strconv.Quote(mark)+`
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Submit(ctx, job); err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	type result struct {
		st  *backends.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		var last *backends.Status
		var once sync.Once
		err := b.Watch(ctx, backends.Ref{Name: "restart"}, func(st *backends.Status) bool {
			if st.Phase == backends.Running {
				once.Do(func() { close(running) })
			}
			last = st
			return st.Phase.Terminal()
		})
		done <- result{last, err}
	}()
	select {
	case <-running:
	case r := <-done:
		t.Fatalf("Watch ended before the job ran: %+v %v", r.st, r.err)
	}
	start := time.Now()
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("agent restarted in %s", time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("Watch across the restart: %v", r.err)
	}
	st := r.st
	t.Logf("outcome %s/%s %q %s after the restart", st.Phase, st.Reason, st.Message, time.Since(start).Round(time.Millisecond))
	if st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded || st.Failed != 1 {
		t.Errorf("status %s/%s failed %d, want Failed/BackoffLimitExceeded failed 1", st.Phase, st.Reason, st.Failed)
	}
	if len(st.Attempts) != 1 || st.Attempts[0].ExitCode == nil || *st.Attempts[0].ExitCode != 3 {
		t.Errorf("attempts %+v, want one that exited 3", st.Attempts)
	}
}
