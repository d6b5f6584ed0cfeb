//go:build linux

package scriptkubelet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/e2e/kube"
	"github.com/batchctl/batchctl/e2e/scriptkubelet"
)

// script says, per namespace (one per case), what each container start does.
type script func(start int, container string) scenario.Effect

// TestPodLifecycle plays bare pods (no Job) and checks the statuses the
// kubelet would write.
func TestPodLifecycle(t *testing.T) {
	c := kube.ForTest(t)
	client, err := scriptkubelet.NewClientFromKubeconfig(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	scripts := map[string]script{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // after the parallel subtests
	k, err := scriptkubelet.Start(ctx, client, scriptkubelet.Options{
		Logf: t.Logf,
		Behaviour: func(ns, _ string, _ *int32, start int, container string) scenario.Effect {
			mu.Lock()
			defer mu.Unlock()
			return scripts[ns](start, container)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)

	exit := func(code int32, after time.Duration) scenario.Effect {
		return scenario.Effect{Exit: code, After: after}
	}
	for _, tc := range []struct {
		name   string
		pod    func(*corev1.PodSpec)
		script script
		del    bool // delete the pod once it runs
		check  func(t *testing.T, last *corev1.Pod, elapsed time.Duration)
	}{{
		name:   "never-exit-3",
		script: func(int, string) scenario.Effect { return exit(3, time.Second) },
		check: func(t *testing.T, p *corev1.Pod, _ time.Duration) {
			wantPhase(t, p, corev1.PodFailed)
			wantTerminated(t, p.Status.ContainerStatuses[0], 3, "Error")
			wantCondition(t, p, corev1.PodReady, corev1.ConditionFalse, "PodFailed")
		},
	}, {
		// Restarts at once, then after 10 s, then 20 s: ~30 s in all.
		name:   "onfailure-crashloop",
		pod:    func(s *corev1.PodSpec) { s.RestartPolicy = corev1.RestartPolicyOnFailure },
		script: func(start int, _ string) scenario.Effect { return exit(map[bool]int32{true: 1}[start < 3], 0) },
		check: func(t *testing.T, p *corev1.Pod, elapsed time.Duration) {
			wantPhase(t, p, corev1.PodSucceeded)
			cs := p.Status.ContainerStatuses[0]
			if cs.RestartCount != 3 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
				t.Errorf("restartCount %d, last state %+v; want 3 and exit 1", cs.RestartCount, cs.LastTerminationState)
			}
			if elapsed < 29*time.Second || elapsed > time.Minute {
				t.Errorf("took %v, want ~30s (restarts after 0s, 10s, 20s)", elapsed)
			}
		},
	}, {
		name: "init-then-two-containers",
		pod: func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
			s.Containers = append(s.Containers, corev1.Container{Name: "side", Image: "busybox"})
		},
		script: func(_ int, c string) scenario.Effect {
			return map[string]scenario.Effect{"init": exit(0, time.Second), "main": exit(0, time.Second), "side": exit(7, 2*time.Second)}[c]
		},
		check: func(t *testing.T, p *corev1.Pod, _ time.Duration) {
			wantPhase(t, p, corev1.PodFailed)
			wantTerminated(t, p.Status.InitContainerStatuses[0], 0, "Completed")
			wantTerminated(t, p.Status.ContainerStatuses[0], 0, "Completed") // main (sorted by name)
			wantTerminated(t, p.Status.ContainerStatuses[1], 7, "Error")     // side
		},
	}, {
		name: "delete-ignoring-sigterm",
		pod:  func(s *corev1.PodSpec) { s.TerminationGracePeriodSeconds = ptr.To(int64(3)) },
		script: func(int, string) scenario.Effect {
			return scenario.Effect{Hang: true, IgnoreSigterm: true}
		},
		del: true,
		check: func(t *testing.T, p *corev1.Pod, elapsed time.Duration) {
			wantPhase(t, p, corev1.PodFailed)
			wantTerminated(t, p.Status.ContainerStatuses[0], 137, "Error")
			if elapsed < 3*time.Second {
				t.Errorf("gone after %v, before the 3 s grace period", elapsed)
			}
		},
	}, {
		name:   "active-deadline",
		pod:    func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = ptr.To(int64(2)) },
		script: func(int, string) scenario.Effect { return scenario.Effect{Hang: true} },
		check: func(t *testing.T, p *corev1.Pod, _ time.Duration) {
			wantPhase(t, p, corev1.PodFailed)
			if p.Status.Reason != "DeadlineExceeded" {
				t.Errorf("reason %q, want DeadlineExceeded", p.Status.Reason)
			}
			wantTerminated(t, p.Status.ContainerStatuses[0], 143, "Error")
		},
	}, {
		name:   "evicted",
		script: func(int, string) scenario.Effect { return scenario.Effect{Evict: true, After: time.Second} },
		check: func(t *testing.T, p *corev1.Pod, _ time.Duration) {
			wantPhase(t, p, corev1.PodFailed)
			if p.Status.Reason != "Evicted" {
				t.Errorf("reason %q, want Evicted", p.Status.Reason)
			}
			wantCondition(t, p, corev1.DisruptionTarget, corev1.ConditionTrue, "TerminationByKubelet")
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := "sk-" + tc.name
			mu.Lock()
			scripts[ns] = tc.script
			mu.Unlock()
			if err := client.Create(ctx, "", "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, nil); err != nil {
				t.Fatal(err)
			}
			waitServiceAccount(ctx, t, client, ns)
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
				Spec: corev1.PodSpec{
					NodeName:      k.NodeName(),
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
				},
			}
			if tc.pod != nil {
				tc.pod(&pod.Spec)
			}
			t0 := time.Now()
			if err := client.Create(ctx, ns, "pods", pod, nil); err != nil {
				t.Fatal(err)
			}
			last := followPod(ctx, t, client, ns, tc.del)
			tc.check(t, last, time.Since(t0))
		})
	}
}

func waitServiceAccount(ctx context.Context, t *testing.T, c *scriptkubelet.Client, ns string) {
	t.Helper()
	lw := c.ListWatch(ns, "serviceaccounts", func() runtime.Object { return &corev1.ServiceAccountList{} }, func(*metav1.ListOptions) {})
	if _, err := scriptkubelet.WaitFor(ctx, lw, &corev1.ServiceAccount{}, func(o runtime.Object) bool {
		return o.(*corev1.ServiceAccount).Name == "default"
	}); err != nil {
		t.Fatal(err)
	}
}

// followPod watches pod p until it is terminal, deleting it once it runs
// when del; then (del) until it is gone. It returns the last state seen.
func followPod(ctx context.Context, t *testing.T, c *scriptkubelet.Client, ns string, del bool) *corev1.Pod {
	t.Helper()
	lw := c.ListWatch(ns, "pods", func() runtime.Object { return &corev1.PodList{} }, func(*metav1.ListOptions) {})
	var last *corev1.Pod
	deleted := false
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		p := e.Object.(*corev1.Pod)
		if e.Type == watch.Deleted {
			return true, nil
		}
		last = p
		if del && !deleted && p.Status.Phase == corev1.PodRunning {
			deleted = true
			if err := c.Delete(ctx, ns, "pods", p.Name, metav1.DeleteOptions{}); err != nil {
				return false, err
			}
		}
		terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		return terminal && !del, nil
	})
	if err != nil {
		t.Fatalf("following pod: %v (last: %s)", err, describe(last))
	}
	return last
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %+v", p.Status.Phase, p.Status.Reason, p.Status.ContainerStatuses)
}

func wantPhase(t *testing.T, p *corev1.Pod, want corev1.PodPhase) {
	t.Helper()
	if p.Status.Phase != want {
		t.Errorf("phase %s, want %s (%s)", p.Status.Phase, want, describe(p))
	}
}

func wantTerminated(t *testing.T, cs corev1.ContainerStatus, code int32, reason string) {
	t.Helper()
	term := cs.State.Terminated
	if term == nil || term.ExitCode != code || term.Reason != reason {
		t.Errorf("container %s state %+v, want terminated %d %s", cs.Name, cs.State, code, reason)
	}
}

func wantCondition(t *testing.T, p *corev1.Pod, ct corev1.PodConditionType, s corev1.ConditionStatus, reason string) {
	t.Helper()
	for _, c := range p.Status.Conditions {
		if c.Type == ct {
			if c.Status != s || c.Reason != reason {
				t.Errorf("condition %s is %s/%s, want %s/%s", ct, c.Status, c.Reason, s, reason)
			}
			return
		}
	}
	t.Errorf("no condition %s in %s", ct, strings.TrimSpace(fmt.Sprint(p.Status.Conditions)))
}
