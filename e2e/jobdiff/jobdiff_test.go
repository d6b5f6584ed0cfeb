//go:build linux

package jobdiff_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/e2e/jobdiff"
	"github.com/batchctl/batchctl/e2e/kube"
	"github.com/batchctl/batchctl/e2e/scriptkubelet"
)

var (
	update = flag.Bool("update", false, "record the real Job controller's outcomes as the scenarios' expect: blocks")
	traces = flag.Bool("traces", false, "log what happened in every scenario, not only in those that fail")
)

const corpus = "../../testdata/jobcontroller"

func TestMain(m *testing.M) {
	local.MaybeSupervise()
	jobdiff.MaybeRunPod()
	flag.Parse()
	// Every scenario of a corpus runs at once: most of their time is spent
	// waiting on timers, and the corpus must fit in a few minutes.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "256")
	}
	os.Exit(m.Run())
}

func scenarios(t *testing.T) []*scenario.Scenario {
	t.Helper()
	dir, err := filepath.Abs(corpus)
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenario.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestKubernetes runs every scenario on a real control plane (the real Job
// controller, a scripted kubelet for the pods) and compares with its expect:
// block, or with -update records the outcome there.
func TestKubernetes(t *testing.T) {
	all := scenarios(t)
	c := kube.ForTest(t)
	client, err := scriptkubelet.NewClientFromKubeconfig(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	h, err := jobdiff.NewKubernetes(ctx, client, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)

	start := time.Now()
	var mu sync.Mutex
	var slowest time.Duration
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range all {
			t.Run(sc.Name, func(t *testing.T) {
				t.Parallel()
				res, err := h.Run(ctx, sc)
				if err != nil {
					t.Fatalf("%v\ntrace:\n%s", err, res.Trace)
				}
				mu.Lock()
				slowest = max(slowest, res.Duration)
				mu.Unlock()
				t.Logf("outcome after %v", res.Duration.Round(100*time.Millisecond))
				if *traces {
					t.Logf("outcome:\n%strace:\n%s", res.Outcome.YAML(), res.Trace)
				}
				if *update {
					if err := sc.WriteExpect(res.Outcome); err != nil {
						t.Fatal(err)
					}
					return
				}
				if sc.Expect == nil {
					t.Fatalf("no expect: block; record one with -update. The controller did:\n%s\ntrace:\n%s", res.Outcome.YAML(), res.Trace)
				}
				if d := sc.Expect.Diff(res.Outcome); d != "" {
					t.Errorf("the real Job controller no longer does what %s records:\n%strace:\n%s", sc.Path, d, res.Trace)
				}
			})
		}
	})
	t.Logf("%d scenarios in %v (slowest job %v)", len(all), time.Since(start).Round(time.Second), slowest.Round(time.Second))
}

// TestLocalMatchesKubernetes runs every scenario on the local backend, each
// container played by this binary (jobdiff.MaybeRunPod), and compares with
// the outcome the real Job controller produced.
func TestLocalMatchesKubernetes(t *testing.T) {
	all := scenarios(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			if sc.Expect == nil {
				t.Fatal("no expect: block; record one with go test ./e2e/jobdiff -run Kubernetes -update")
			}
			for _, r := range sc.Rules {
				if r.Evict {
					// Only a node evicts a pod (DisruptionTarget); nothing on
					// this machine does, and batchctl's own stops never set
					// it, as Kubernetes' do not. The pure machine's corpus
					// test covers the rule.
					t.Skip("Kubernetes-only: a node eviction has no local equivalent")
				}
			}
			opts := jobdiff.LocalOptions{StateDir: t.TempDir(), PodDir: t.TempDir()}
			if !sc.TimingSensitive() {
				// Only what happens is compared, not when: retry sooner.
				opts.Backoff = 500 * time.Millisecond
			}
			got, err := jobdiff.RunLocal(ctx, sc, opts)
			if errors.Is(err, jobdiff.ErrNoActions) {
				t.Fatalf("cannot run here: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := sc.Expect.Diff(got); d != "" {
				t.Errorf("local differs from Kubernetes (%s):\n%s", sc.About, d)
			}
		})
	}
}
