//go:build linux

package k8s

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/e2e/kube"
)

// Watch (status --watch, wait) says why a pod does not run, as Status does,
// although the Job object does not change while the pod's image pull fails
// and backs off: the pods are read again while they wait, never more than
// once per waitGrace. fn is never called concurrently, nor after Watch
// returned.
func TestRealWatchExplainsWaiting(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: watch-waiting}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: "`+kube.MissingImage+`", command: ["true"]}]
`)
	tb, trace := traced(t)
	var (
		inFn     sync.Mutex
		returned atomic.Bool
		msgs     []string
	)
	pull := regexp.MustCompile(`^waiting: pod watch-waiting-[a-z0-9]{5}: (ErrImagePull|ImagePullBackOff): .*` + regexp.QuoteMeta(kube.MissingImage))
	seen := map[string]bool{}
	start := time.Now()
	err := tb.Watch(ctx, ref, func(st *backends.Status) bool {
		if !inFn.TryLock() {
			t.Error("fn called while another call runs")
			return false
		}
		defer inFn.Unlock()
		if returned.Load() {
			t.Error("fn called after Watch returned")
		}
		if st.Phase.Terminal() {
			t.Errorf("job %s: %s", st.Phase, st.Message)
			return true
		}
		if len(msgs) == 0 || msgs[len(msgs)-1] != st.Message {
			msgs = append(msgs, st.Message)
		}
		if m := pull.FindStringSubmatch(st.Message); m != nil {
			seen[m[1]] = true
		}
		return seen["ErrImagePull"] && seen["ImagePullBackOff"]
	})
	returned.Store(true)
	elapsed := time.Since(start)
	tb.Close()
	if err != nil {
		t.Fatalf("Watch: %v (messages %q)", err, msgs)
	}
	t.Logf("after %s: messages %q; %s", elapsed.Round(time.Millisecond), msgs, strings.TrimSpace(trace.String()))
	for _, m := range msgs {
		if m != "" && !strings.HasPrefix(m, "waiting: pod watch-waiting-") {
			t.Errorf("message %q: want Status's explanation", m)
		}
	}
	// Status says the same of the pod (its reason may have moved on since).
	st, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !pull.MatchString(st.Message) {
		t.Errorf("Status message %q, want the same explanation as the watch's %q", st.Message, msgs[len(msgs)-1])
	}
	// The cost: one GET of the job, its watch, and at most one list of the
	// pods per waitGrace.
	m := regexp.MustCompile(`GET pods=(\d+)`).FindStringSubmatch(trace.String())
	if m == nil {
		t.Fatalf("no pod list in %q", trace.String())
	}
	if n, _ := strconv.Atoi(m[1]); n > int(elapsed/waitGrace)+1 {
		t.Errorf("%d pod lists in %s, want at most one per %s", n, elapsed, waitGrace)
	}
	if strings.Contains(trace.String(), "GET events") || strings.Contains(trace.String(), "log=") {
		t.Errorf("requests %q: want only the job's and the pods'", trace.String())
	}
}
