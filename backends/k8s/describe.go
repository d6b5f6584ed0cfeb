package k8s

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
)

// Attempt reasons batchctl gives where Kubernetes keeps no record.
const (
	// reasonRestarted: a run of a container the kubelet restarted in place
	// (so it failed), older than the one run it keeps (lastState): its exit
	// code is not kept anywhere.
	reasonRestarted = "Restarted"
	// reasonDeleted: the run of a pod that is gone (the Job controller
	// deletes a failing job's running pods, and those past its deadline);
	// what is known of it comes from the events.
	reasonDeleted = "Deleted"
)

// Describe adds every pod's attempts and the events of the job and its pods,
// and, while the job waits on pods that do not run, why.
func (b *backend) Describe(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	job, err := b.get(ctx, "describe", ref)
	if err != nil {
		return nil, err
	}
	st := toStatus(job)
	pods, err := b.pods(ctx, job)
	if err != nil {
		return nil, err
	}
	ref.Namespace = job.Namespace
	var events *corev1.EventList
	err = b.call(ctx, "describe", ref, func(ctx context.Context) error {
		events, err = b.client.listEvents(ctx, job.Namespace, metav1.ListOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	ev := sortEvents(job, pods, events.Items)
	st.Attempts = jobAttempts(job, pods, ev)
	for _, e := range ev.all {
		t := eventTime(e)
		st.Events = append(st.Events, backends.Event{
			Time: t, Type: e.Type, Reason: e.Reason,
			Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, Message: e.Message,
		})
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Time.Before(st.Events[j].Time) })
	if !st.Phase.Terminal() && st.Reason == "" && !strings.HasPrefix(st.Message, "failing: ") {
		if w := explainWaiting(pods, ev.byPod); w != "" {
			st.Message = w
		}
	}
	return st, nil
}

// jobEvents are a job's events, sorted out: the job's own, and each pod's
// by pod name (pods that no longer exist included: the job's events name
// every pod it created).
type jobEvents struct {
	all     []corev1.Event
	byPod   map[string][]corev1.Event
	created map[string]time.Time // pod name -> when the Job controller created it
}

func sortEvents(job *batchv1.Job, pods []corev1.Pod, items []corev1.Event) jobEvents {
	ev := jobEvents{byPod: map[string][]corev1.Event{}, created: map[string]time.Time{}}
	podUIDs := map[string]bool{}
	for _, p := range pods {
		podUIDs[string(p.UID)] = true
	}
	for _, e := range items {
		if e.InvolvedObject.UID != job.UID {
			continue
		}
		ev.all = append(ev.all, e)
		// Past ten pods the event recorder folds them into one event that
		// names the latest: older pods are known only while they exist.
		msg := strings.TrimPrefix(e.Message, "(combined from similar events): ")
		if name, ok := strings.CutPrefix(msg, "Created pod: "); ok && e.Reason == "SuccessfulCreate" {
			if _, seen := ev.created[name]; !seen {
				ev.created[name] = eventTime(e)
			}
		}
	}
	for _, e := range items {
		o := e.InvolvedObject
		if o.Kind != "Pod" {
			continue
		}
		if _, created := ev.created[o.Name]; !podUIDs[string(o.UID)] && !created {
			continue
		}
		ev.all = append(ev.all, e)
		ev.byPod[o.Name] = append(ev.byPod[o.Name], e)
	}
	return ev
}

func eventTime(e corev1.Event) time.Time {
	if t := e.LastTimestamp.Time; !t.IsZero() {
		return t
	}
	if e.Series != nil && !e.Series.LastObservedTime.IsZero() {
		return e.Series.LastObservedTime.Time
	}
	if t := e.EventTime.Time; !t.IsZero() {
		return t
	}
	return e.CreationTimestamp.Time
}

// started counts the container starts a pod's events record, and when the
// first and the last were.
func started(events []corev1.Event) (n int32, first, last time.Time) {
	for _, e := range events {
		if e.Reason != "Started" {
			continue
		}
		c := max(e.Count, 1)
		if e.Series != nil {
			c = max(c, e.Series.Count)
		}
		n += c
		f := e.FirstTimestamp.Time
		if f.IsZero() {
			f = eventTime(e)
		}
		if first.IsZero() || f.Before(first) {
			first = f
		}
		if l := eventTime(e); l.After(last) {
			last = l
		}
	}
	return n, first, last
}

// lineage is one pod of a job, present or known from events only, for
// numbering attempts across the retries of an index.
type lineage struct {
	name    string
	index   *int32
	created time.Time
	pod     *corev1.Pod // nil: deleted
	runs    int32
	failed  bool // its runs are over and count as failures (Failed or deleted)
}

// jobAttempts lists the attempts of every pod of the job, those deleted
// since included, numbered per index: a pod's first run follows every run
// of the failed or deleted pods of its index created before it.
func jobAttempts(job *batchv1.Job, pods []corev1.Pod, ev jobEvents) []backends.Attempt {
	var all []lineage
	present := map[string]bool{}
	for i := range pods {
		p := &pods[i]
		present[p.Name] = true
		all = append(all, lineage{name: p.Name, index: podIndex(p), created: p.CreationTimestamp.Time, pod: p,
			runs: runs(p), failed: p.Status.Phase == corev1.PodFailed})
	}
	indexed := job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
	for name, created := range ev.created {
		if present[name] {
			continue
		}
		n, _, _ := started(ev.byPod[name])
		l := lineage{name: name, created: created, runs: max(n, 1), failed: true}
		if indexed {
			l.index = indexFromName(job.Name, name)
		}
		all = append(all, l)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.Before(all[j].created)
		}
		return all[i].name < all[j].name
	})
	var out []backends.Attempt
	for i, l := range all {
		var base int32
		for _, e := range all[:i] {
			if e.failed && sameIndex(e.index, l.index) {
				base += e.runs
			}
		}
		if l.pod != nil {
			out = append(out, podAttempts(l.pod, base, ev.byPod[l.name])...)
		} else {
			out = append(out, deletedAttempts(l, base, ev.byPod[l.name])...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ii, ij := int32(-1), int32(-1)
		if out[i].Index != nil {
			ii = *out[i].Index
		}
		if out[j].Index != nil {
			ij = *out[j].Index
		}
		if ii != ij {
			return ii < ij
		}
		return out[i].Attempt < out[j].Attempt
	})
	return out
}

func sameIndex(a, b *int32) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// indexFromName reads the completion index from an Indexed job's pod name,
// JOB-INDEX-xxxxx, for pods whose annotation is gone with them.
func indexFromName(job, pod string) *int32 {
	rest, ok := strings.CutPrefix(pod, job+"-")
	if !ok {
		return nil
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return nil
	}
	i, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return nil
	}
	idx := int32(i)
	return &idx
}

// podAttempts turns a pod into its runs, numbered from base: runs the
// kubelet restarted but keeps no record of (reasonRestarted), the previous
// run (lastState, kept across an in-place restart) and the current one,
// which may not have started yet (Pending, with the waiting reason).
func podAttempts(p *corev1.Pod, base int32, events []corev1.Event) []backends.Attempt {
	idx := podIndex(p)
	restarts := runs(p) - 1
	var last *corev1.ContainerStateTerminated
	var restarted *corev1.ContainerStatus
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		if restarted == nil || cs.RestartCount > restarted.RestartCount {
			restarted = cs
		}
	}
	if restarted != nil {
		last = restarted.LastTerminationState.Terminated
	}
	var out []backends.Attempt
	kept := restarts // runs before the current one whose record is gone
	if restarts > 0 && last != nil {
		kept = restarts - 1
	}
	_, firstStart, _ := started(events)
	for i := int32(0); i < kept; i++ {
		a := backends.Attempt{Pod: p.Name, Index: idx, Attempt: base + i, Phase: backends.Failed, Reason: reasonRestarted}
		if i == 0 && !firstStart.IsZero() {
			a.StartTime = &firstStart
		}
		out = append(out, a)
	}
	if restarts > 0 && last != nil {
		out = append(out, terminated(p.Name, idx, base+restarts-1, last))
	}
	return append(out, currentAttempt(p, idx, base+restarts))
}

// currentAttempt is the pod's latest run: the state of its most telling
// container (a failure, else one waiting, else one running, else done). An
// init container that failed or waits is the most telling of all, its
// reason marked as kubectl marks it (Init:Error, Init:ImagePullBackOff).
func currentAttempt(p *corev1.Pod, idx *int32, attempt int32) backends.Attempt {
	if a, ok := initAttempt(p, idx, attempt); ok {
		return a
	}
	var failed, done *corev1.ContainerStateTerminated
	var waiting *corev1.ContainerStateWaiting
	var running *corev1.ContainerStateRunning
	for _, cs := range p.Status.ContainerStatuses {
		switch s := cs.State; {
		case s.Terminated != nil && s.Terminated.ExitCode != 0:
			if failed == nil {
				failed = s.Terminated
			}
		case s.Terminated != nil:
			if done == nil {
				done = s.Terminated
			}
		case s.Waiting != nil:
			if waiting == nil {
				waiting = s.Waiting
			}
		case s.Running != nil:
			if running == nil {
				running = s.Running
			}
		}
	}
	a := backends.Attempt{Pod: p.Name, Index: idx, Attempt: attempt, Phase: backends.Pending}
	if p.Status.StartTime != nil {
		a.StartTime = &p.Status.StartTime.Time
	}
	switch {
	case failed != nil:
		return terminated(p.Name, idx, attempt, failed)
	case waiting != nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded:
		a.Reason = waiting.Reason
	case running != nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded:
		a.Phase = backends.Running
		if !running.StartedAt.IsZero() {
			a.StartTime = &running.StartedAt.Time
		}
	case done != nil && p.Status.Phase != corev1.PodFailed:
		return terminated(p.Name, idx, attempt, done)
	case p.Status.Phase == corev1.PodFailed:
		// Failed without a container's exit code: evicted, the pod's own
		// deadline, deleted before its containers ran.
		a.Phase, a.Reason = backends.Failed, p.Status.Reason
		if a.Reason == "" {
			a.Reason = "PodFailed"
		}
	default:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				a.Reason = c.Reason
			}
		}
		if a.Reason == "" {
			a.Reason = p.Status.Reason
		}
	}
	return a
}

// initAttempt is the pod's latest run when an init container stops it
// there: one that failed (its exit code, reason Init:Error, or
// Init:ExitCode:N / Init:Signal:N without a reason), or one that waits for
// something other than its turn (Init:CrashLoopBackOff, Init:ErrImagePull).
// Sidecars (restartPolicy Always) are not what the pod waits for.
func initAttempt(p *corev1.Pod, idx *int32, attempt int32) (backends.Attempt, bool) {
	sidecar := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar[c.Name] = true
		}
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if sidecar[cs.Name] {
			continue
		}
		switch s := cs.State; {
		case s.Terminated != nil && s.Terminated.ExitCode == 0:
			continue
		case s.Terminated != nil:
			a := terminated(p.Name, idx, attempt, s.Terminated)
			a.Reason = initReason(s.Terminated)
			return a, true
		case s.Waiting != nil && s.Waiting.Reason != "" && s.Waiting.Reason != "PodInitializing" &&
			p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded:
			a := backends.Attempt{Pod: p.Name, Index: idx, Attempt: attempt, Phase: backends.Pending, Reason: "Init:" + s.Waiting.Reason}
			if p.Status.StartTime != nil {
				a.StartTime = &p.Status.StartTime.Time
			}
			return a, true
		}
		break // the init container running or next in turn: the pod is on its way
	}
	return backends.Attempt{}, false
}

// initReason is a failed init container's reason as kubectl shows it in
// a pod's status.
func initReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return "Init:" + t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Init:Signal:%d", t.Signal)
	}
	return fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
}

// deletedAttempts are the runs of a pod known from events only: the kubelet
// started it n times (its "Started" events), every run but the last was
// restarted in place, the last ended with the pod's deletion.
func deletedAttempts(l lineage, base int32, events []corev1.Event) []backends.Attempt {
	_, first, last := started(events)
	var out []backends.Attempt
	for i := int32(0); i < l.runs; i++ {
		a := backends.Attempt{Pod: l.name, Index: l.index, Attempt: base + i, Phase: backends.Failed, Reason: reasonRestarted}
		if i == l.runs-1 {
			a.Reason = reasonDeleted
		}
		switch {
		case i == 0 && !first.IsZero():
			a.StartTime = &first
		case i == l.runs-1 && !last.IsZero():
			a.StartTime = &last
		}
		out = append(out, a)
	}
	return out
}

func terminated(pod string, idx *int32, attempt int32, t *corev1.ContainerStateTerminated) backends.Attempt {
	code := t.ExitCode
	a := backends.Attempt{Pod: pod, Index: idx, Attempt: attempt, ExitCode: &code, Reason: t.Reason, Phase: backends.Failed}
	if code == 0 {
		a.Phase = backends.Succeeded
	}
	if !t.StartedAt.IsZero() {
		a.StartTime = &t.StartedAt.Time
	}
	if !t.FinishedAt.IsZero() {
		a.FinishTime = &t.FinishedAt.Time
	}
	return a
}
