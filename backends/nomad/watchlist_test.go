//go:build unix

package nomad_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote/remotetest"
)

// submitLabelled submits a job of script labelled batchctl.dev/case=label.
func submitLabelled(t *testing.T, b backends.Backend, name, label, script string) backends.Ref {
	t.Helper()
	st, err := b.Submit(context.Background(), parseJob(t, fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  labels: {batchctl.dev/case: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["sh", "-c", %q]}]
`, name, label, script)))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

// countingProxy forwards to a Nomad agent and counts requests by path.
type countingProxy struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newCountingProxy(t *testing.T, addr string) *countingProxy {
	t.Helper()
	u, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a long poll the watch gives up on is no news
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

// WatchList follows several jobs to their end reading each one's
// definition once and none's allocations on its own: what it costs grows
// with the changes, not with the number of jobs times the polls. A job
// deleted while followed leaves the report. Across all namespaces, so that
// Nomad's wildcard namespace is exercised too.
func TestWatchListReadsEachJobOnce(t *testing.T) {
	a := devAgent(t)
	direct := newBackend(t, a.Addr)
	proxy := newCountingProxy(t, a.Addr)
	b := newBackend(t, proxy.URL)
	label := fmt.Sprintf("wl-once-%d", time.Now().UnixNano()%1e6)
	var refs []backends.Ref
	for i := range 3 {
		refs = append(refs, submitLabelled(t, direct, fmt.Sprintf("%s-%d", label, i), label, "sleep 1"))
	}
	doomed := submitLabelled(t, direct, label+"-deleted", label, "sleep 600")
	sel, err := backends.ParseSelector("batchctl.dev/case=" + label)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deleted := false
	var last []*backends.Status
	err = b.(backends.ListWatcher).WatchList(ctx, backends.ListOptions{AllNamespaces: true, Selector: sel}, func(sts []*backends.Status) bool {
		last = sts
		if !deleted {
			for _, st := range sts {
				if st.Name == doomed.Name && st.Active > 0 {
					if err := direct.Delete(ctx, doomed); err != nil {
						t.Errorf("delete %s: %v", doomed.Name, err)
					}
					deleted = true
				}
			}
		}
		done := deleted && len(sts) == len(refs)
		for _, st := range sts {
			done = done && st.Phase.Terminal()
		}
		return done
	})
	if err != nil {
		t.Fatalf("WatchList: %v (last report %v)", err, last)
	}
	for i, st := range last {
		if st.Name != refs[i].Name || st.Phase != backends.Succeeded {
			t.Errorf("report %d: %s %s, want %s Succeeded", i, st.Name, st.Phase, refs[i].Name)
		}
	}
	for _, r := range append(refs, doomed) {
		if n := proxy.count("/v1/job/" + r.Name); n != 1 {
			t.Errorf("%s: its definition was read %d times, want once", r.Name, n)
		}
		if n := proxy.count("/v1/job/" + r.Name + "/allocations"); n != 0 {
			t.Errorf("%s: its allocations were read %d times on their own, want none", r.Name, n)
		}
	}
	t.Logf("requests: %d jobs list, %d allocations list", proxy.count("/v1/jobs"), proxy.count("/v1/allocations"))
}

// A WatchList whose connections go silent detects it within the stall
// timeout, reconnects once the network forwards again, and reports the
// outcome the job reached meanwhile (as Watch does: stall_test.go).
func TestWatchListResumesAfterSilentConnection(t *testing.T) {
	a := devAgent(t)
	const stall = 3 * time.Second
	remotetest.ShortStall(t, stall)
	proxy := remotetest.ProxyTo(t, a.Addr)
	direct, viaProxy := newBackend(t, a.Addr), newBackend(t, "http://"+proxy.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	label := fmt.Sprintf("wl-silent-%d", time.Now().UnixNano()%1e6)
	ref := submitLabelled(t, direct, label, label, "sleep 2")
	sel, err := backends.ParseSelector("batchctl.dev/case=" + label)
	if err != nil {
		t.Fatal(err)
	}
	remotetest.WaitAcrossStall(t, ctx, proxy, stall, stall+5*time.Second,
		func(ctx context.Context, fn func(*backends.Status) bool) error {
			return viaProxy.(backends.ListWatcher).WatchList(ctx, backends.ListOptions{Selector: sel}, func(sts []*backends.Status) bool {
				for _, st := range sts {
					if st.Name == ref.Name {
						return fn(st)
					}
				}
				return false
			})
		},
		func(ctx context.Context) error {
			return direct.Watch(ctx, ref, func(s *backends.Status) bool { return s.Phase.Terminal() })
		})
}

// Restarting the agent (state on disk) while WatchList follows two jobs
// loses neither outcome: both end only once the agent is back, so the
// watch cannot have read them before (as TestWaitSurvivesAgentRestart for
// Watch).
func TestWatchListSurvivesAgentRestart(t *testing.T) {
	a := startAgent(t, true)
	b := newBackend(t, a.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mark := filepath.Join(t.TempDir(), "restarted")
	wait := fmt.Sprintf("until [ -e %q ]; do sleep 0.1; done; ", mark)
	ok := submitLabelled(t, b, "restart-ok", "restart", wait+"exit 0")
	bad := submitLabelled(t, b, "restart-bad", "restart", wait+"exit 3")
	sel, err := backends.ParseSelector("batchctl.dev/case=restart")
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	type result struct {
		sts []*backends.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		var last []*backends.Status
		var once sync.Once
		err := b.(backends.ListWatcher).WatchList(ctx, backends.ListOptions{Selector: sel}, func(sts []*backends.Status) bool {
			last = sts
			active, finished := 0, 0
			for _, st := range sts {
				if st.Active > 0 {
					active++
				}
				if st.Phase.Terminal() {
					finished++
				}
			}
			if active == 2 {
				once.Do(func() { close(running) })
			}
			return len(sts) == 2 && finished == 2
		})
		done <- result{last, err}
	}()
	select {
	case <-running:
	case r := <-done:
		t.Fatalf("WatchList ended before the jobs ran: %v %v", r.sts, r.err)
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
		t.Fatalf("WatchList across the restart: %v", r.err)
	}
	t.Logf("both outcomes %s after the restart", time.Since(start).Round(time.Millisecond))
	if len(r.sts) != 2 || r.sts[0].Name != bad.Name || r.sts[1].Name != ok.Name {
		t.Fatalf("last report %v, want %s and %s", r.sts, bad.Name, ok.Name)
	}
	if st := r.sts[0]; st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded {
		t.Errorf("%s: %s/%s, want Failed/BackoffLimitExceeded", st.Name, st.Phase, st.Reason)
	}
	if st := r.sts[1]; st.Phase != backends.Succeeded {
		t.Errorf("%s: %s, want Succeeded", st.Name, st.Phase)
	}
}
