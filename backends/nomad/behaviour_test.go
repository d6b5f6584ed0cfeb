//go:build unix

package nomad_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

func submit(t *testing.T, b backends.Backend, name, extraSpec, script string) backends.Ref {
	t.Helper()
	j, err := jobspec.Parse(name+".yaml", strings.NewReader(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", %q]
`, name, extraSpec, script)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) Line(src backends.LogSource, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%d/%d %s", *src.Index, src.Attempt, s))
}

// Logs -f started before anything ran picks up the allocation Nomad
// reschedules after a failure, and returns once the job has failed.
func TestFollowPicksUpReschedules(t *testing.T) {
	b := newBackend(t, devAgent(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ref := submit(t, b, "follow-resched", "  backoffLimit: 1\n", "echo out; echo err >&2; exit 2")
	var l lines
	if err := b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &l); err != nil {
		t.Fatal(err)
	}
	sort.Strings(l.got) // stdout and stderr are separate streams
	want := "0/0 err|0/0 out|0/1 err|0/1 out"
	if got := strings.Join(l.got, "|"); got != want {
		t.Errorf("followed lines %s, want %s", got, want)
	}
	st, err := b.Status(ctx, ref)
	if err != nil || st.Phase != backends.Failed {
		t.Errorf("Logs -f returned before the job failed: %v %+v", err, st)
	}
}

// A job deleted while watched ends the watch with ErrNotFound; describe
// shows the task events.
func TestWatchSeesDelete(t *testing.T) {
	b := newBackend(t, devAgent(t).Addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ref := submit(t, b, "watch-delete", "", "sleep 30")
	running := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(ctx, ref, func(st *backends.Status) bool {
			if st.Phase == backends.Running {
				once.Do(func() { close(running) })
			}
			return st.Phase.Terminal()
		})
	}()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("Watch ended before the job ran: %v", err)
	}
	d, err := b.(backends.Describer).Describe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) == 0 || d.Events[len(d.Events)-1].Reason != "Started" {
		t.Errorf("describe events %+v, want the last one Started", d.Events)
	}
	if err := b.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("Watch of a deleted job: %v, want not found", err)
	}
}
