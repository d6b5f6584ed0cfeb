//go:build linux

// Package jobdiff runs the Job controller scenarios of testdata/jobcontroller
// (see backends/jobcontroller/scenario) on the real Kubernetes Job
// controller, with a scripted kubelet playing the pods, and on the local
// backend, with the test binary itself playing each container, and reduces
// both runs to a scenario.Outcome to compare.
package jobdiff

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/e2e/scriptkubelet"
)

// Kubernetes runs scenarios on a real control plane, each in its own
// namespace, all on one scripted node.
type Kubernetes struct {
	c *scriptkubelet.Client
	k *scriptkubelet.Kubelet

	mu        sync.Mutex
	scenarios map[string]*scenario.Scenario // by namespace
	traces    map[string]*strings.Builder
}

// Result is one run of a scenario.
type Result struct {
	Outcome  scenario.Outcome
	Duration time.Duration // from creating the Job to its outcome
	// Trace tells what happened, for a reader of a failed comparison: job
	// conditions and every container start and exit, with times.
	Trace string
}

// NewKubernetes starts the scripted kubelet on the cluster c reaches.
func NewKubernetes(ctx context.Context, c *scriptkubelet.Client, logf func(string, ...any)) (*Kubernetes, error) {
	h := &Kubernetes{c: c, scenarios: map[string]*scenario.Scenario{}, traces: map[string]*strings.Builder{}}
	k, err := scriptkubelet.Start(ctx, c, scriptkubelet.Options{
		Logf:      logf,
		Behaviour: h.behaviour,
		Trace:     h.trace,
	})
	if err != nil {
		return nil, err
	}
	h.k = k
	return h, nil
}

// Stop stops the scripted kubelet.
func (h *Kubernetes) Stop() { h.k.Stop() }

func (h *Kubernetes) behaviour(ns, _ string, index *int32, start int, container string) scenario.Effect {
	h.mu.Lock()
	sc := h.scenarios[ns]
	h.mu.Unlock()
	if sc == nil {
		return scenario.Effect{Hang: true} // not ours: never finishes on its own
	}
	return sc.Behaviour(index, start, container)
}

func (h *Kubernetes) trace(ns, line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b := h.traces[ns]; b != nil {
		b.WriteString(line + "\n")
	}
}

// Namespace is where scenario sc runs.
func Namespace(sc *scenario.Scenario) string { return "jd-" + sc.Name }

// Run runs sc once: its Job, bound to the scripted node, and its timed
// actions, until the Job has a Complete or Failed condition and none of its
// pods is still running.
func (h *Kubernetes) Run(ctx context.Context, sc *scenario.Scenario) (Result, error) {
	ns := Namespace(sc)
	h.mu.Lock()
	if h.scenarios[ns] != nil {
		h.mu.Unlock()
		return Result{}, fmt.Errorf("scenario %s is already running", sc.Name)
	}
	h.scenarios[ns] = sc
	h.traces[ns] = &strings.Builder{}
	h.mu.Unlock()
	res, err := h.run(ctx, sc, ns)
	h.mu.Lock()
	res.Trace = h.traces[ns].String()
	h.mu.Unlock()
	return res, err
}

func (h *Kubernetes) run(ctx context.Context, sc *scenario.Scenario, ns string) (Result, error) {
	var res Result
	err := h.c.Create(ctx, "", "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, nil)
	if err != nil {
		return res, fmt.Errorf("namespace %s: %w (a namespace left by an earlier run?)", ns, err)
	}
	// Pods cannot be created before the namespace's default service
	// account exists; the controller would retry, shifting every timing.
	lw := h.c.ListWatch(ns, "serviceaccounts", func() runtime.Object { return &corev1.ServiceAccountList{} }, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", "default").String()
	})
	if _, err := scriptkubelet.WaitFor(ctx, lw, &corev1.ServiceAccount{}, func(runtime.Object) bool { return true }); err != nil {
		return res, fmt.Errorf("default service account in %s: %w", ns, err)
	}

	obj := sc.Object()
	obj.Namespace = ns
	obj.Spec.Template.Spec.NodeName = h.k.NodeName()
	job := &batchv1.Job{}
	if err := h.c.Create(ctx, ns, "jobs", obj, job); err != nil {
		return res, fmt.Errorf("create job: %w", err)
	}
	created := time.Now()
	h.trace(ns, created.Format("15:04:05.000")+" job created")

	actCtx, stopActions := context.WithCancel(ctx)
	defer stopActions()
	actErr := make(chan error, len(sc.Actions))
	go func() { actErr <- h.act(actCtx, ns, job.Name, created, sc.Actions) }()

	final, err := h.waitFinished(ctx, ns, job)
	if err != nil {
		return res, err
	}
	res.Duration = time.Since(created)
	stopActions()
	if err := <-actErr; err != nil {
		return res, err
	}
	if err := h.waitPodsStopped(ctx, ns, job.Name); err != nil {
		return res, err
	}
	res.Outcome = outcome(final, h.k.Starts(ns, job.Name))
	return res, nil
}

// act patches spec.suspend at each action's time, until ctx ends (the job
// finished first).
func (h *Kubernetes) act(ctx context.Context, ns, name string, created time.Time, actions []scenario.Action) error {
	for _, a := range actions {
		t := time.NewTimer(time.Until(created.Add(a.At.D())))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		body, _ := json.Marshal(map[string]any{"spec": map[string]any{"suspend": a.Suspend}})
		err := h.c.Patch(ctx, ns, "jobs", name, "", types.MergePatchType, body)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("action at %v: %w", a.At.D(), err)
		}
		h.trace(ns, fmt.Sprintf("%s job patched: suspend=%v", time.Now().Format("15:04:05.000"), a.Suspend))
	}
	return nil
}

// waitFinished watches the job until it has a Complete or Failed condition,
// tracing every condition it gains.
func (h *Kubernetes) waitFinished(ctx context.Context, ns string, job *batchv1.Job) (*batchv1.Job, error) {
	lw := h.c.ListWatch(ns, "jobs", func() runtime.Object { return &batchv1.JobList{} }, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", job.Name).String()
	})
	seen := map[string]bool{}
	o, err := scriptkubelet.WaitFor(ctx, lw, &batchv1.Job{}, func(o runtime.Object) bool {
		j := o.(*batchv1.Job)
		done := false
		for _, c := range j.Status.Conditions {
			key := fmt.Sprintf("%s=%s %s", c.Type, c.Status, c.Reason)
			if !seen[key] {
				seen[key] = true
				h.trace(ns, fmt.Sprintf("%s job condition %s (active %d, succeeded %d, failed %d)",
					time.Now().Format("15:04:05.000"), key, j.Status.Active, j.Status.Succeeded, j.Status.Failed))
			}
			done = done || c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed)
		}
		return done
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the job's outcome: %w", err)
	}
	return o.(*batchv1.Job), nil
}

// waitPodsStopped waits until no pod of the job is still Pending or Running
// (the controller declares the outcome only then, so this holds at once
// unless it did not).
func (h *Kubernetes) waitPodsStopped(ctx context.Context, ns, job string) error {
	lw := h.c.ListWatch(ns, "pods", func() runtime.Object { return &corev1.PodList{} }, func(o *metav1.ListOptions) {
		o.LabelSelector = batchv1.JobNameLabel + "=" + job
	})
	var store cache.Store
	allStopped := func() bool {
		for _, o := range store.List() {
			if p := o.(*corev1.Pod).Status.Phase; p != corev1.PodSucceeded && p != corev1.PodFailed {
				return false
			}
		}
		return true
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, func(s cache.Store) (bool, error) {
		store = s
		return allStopped(), nil
	}, func(watch.Event) (bool, error) { return allStopped(), nil })
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("waiting for the job's pods to stop: %w", err)
	}
	return nil
}

// outcome normalizes a finished Job.
func outcome(j *batchv1.Job, starts map[string]int) scenario.Outcome {
	o := scenario.Outcome{
		Succeeded:        j.Status.Succeeded,
		Failed:           j.Status.Failed,
		CompletedIndexes: j.Status.CompletedIndexes,
		Starts:           starts,
	}
	if j.Status.FailedIndexes != nil {
		o.FailedIndexes = *j.Status.FailedIndexes
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			o.Phase = scenario.Succeeded
		case batchv1.JobFailed:
			o.Phase, o.Reason = scenario.Failed, c.Reason
		}
	}
	return o
}
