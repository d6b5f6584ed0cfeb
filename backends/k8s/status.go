package k8s

import (
	"context"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
)

// Status reads the Job object alone: one request whatever the pod count.
func (b *backend) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	job, err := b.get(ctx, "status", ref)
	if err != nil {
		return nil, err
	}
	return toStatus(job), nil
}

func (b *backend) get(ctx context.Context, op string, ref backends.Ref) (*batchv1.Job, error) {
	ref.Namespace = b.ns(ref)
	var job *batchv1.Job
	err := b.call(ctx, op, ref, func(ctx context.Context) error {
		var err error
		job, err = b.client.getJob(ctx, ref.Namespace, ref.Name)
		return err
	})
	return job, err
}

// toStatus normalizes a Job. Only the Complete and Failed conditions are
// terminal: Kubernetes sets them once every pod has stopped.
func toStatus(job *batchv1.Job) *backends.Status {
	st := &backends.Status{
		Name:           job.Name,
		Namespace:      job.Namespace,
		Backend:        Name,
		UID:            string(job.UID),
		Active:         job.Status.Active,
		Succeeded:      job.Status.Succeeded,
		Failed:         job.Status.Failed,
		Completions:    1,
		Parallelism:    1,
		CompletionMode: string(batchv1.NonIndexedCompletion),
		Labels:         job.Labels,
	}
	if job.Spec.Completions != nil {
		st.Completions = *job.Spec.Completions
	}
	if job.Spec.Parallelism != nil {
		st.Parallelism = *job.Spec.Parallelism
	}
	if job.Spec.CompletionMode != nil {
		st.CompletionMode = string(*job.Spec.CompletionMode)
	}
	if job.Status.CompletedIndexes != "" {
		st.CompletedIndexes = job.Status.CompletedIndexes
	}
	if job.Status.FailedIndexes != nil {
		st.FailedIndexes = *job.Status.FailedIndexes
	}
	if t := job.CreationTimestamp; !t.IsZero() {
		st.CreationTime = &t.Time
	}
	if t := job.Status.StartTime; t != nil {
		st.StartTime = &t.Time
	}
	if t := job.Status.CompletionTime; t != nil {
		st.CompletionTime = &t.Time
	}
	st.Phase = backends.Pending
	if st.StartTime != nil || st.Active > 0 || st.Failed > 0 || st.Succeeded > 0 {
		st.Phase = backends.Running
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			// Success needs no reason; the normalized status gives one only
			// for failure and suspension, whatever the backend.
			st.Phase = backends.Succeeded
			if st.CompletionTime == nil {
				st.CompletionTime = &c.LastTransitionTime.Time
			}
		case batchv1.JobFailed:
			st.Phase, st.Reason, st.Message = backends.Failed, c.Reason, c.Message
			if st.CompletionTime == nil {
				st.CompletionTime = &c.LastTransitionTime.Time
			}
		case batchv1.JobSuspended:
			st.Message = c.Message
		}
	}
	// The spec, not the condition the controller adds a moment later, says
	// whether the job is suspended: a command right after `suspend` agrees.
	if job.Spec.Suspend != nil && *job.Spec.Suspend && !st.Phase.Terminal() {
		st.Phase, st.Reason = backends.Pending, backends.ReasonSuspended
		if st.Message == "" {
			st.Message = "Job suspended"
		}
	} else if !st.Phase.Terminal() {
		st.Message = ""
	}
	return st
}

// Describe adds every pod's attempts and the events of the job and its pods.
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
	for _, p := range pods {
		st.Attempts = append(st.Attempts, attempts(p, priorFailures(&p, pods))...)
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
	uids := map[string]bool{string(job.UID): true}
	for _, p := range pods {
		uids[string(p.UID)] = true
	}
	for _, e := range events.Items {
		if !uids[string(e.InvolvedObject.UID)] {
			continue
		}
		t := e.LastTimestamp.Time
		if t.IsZero() {
			t = e.EventTime.Time
		}
		st.Events = append(st.Events, backends.Event{
			Time: t, Type: e.Type, Reason: e.Reason,
			Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name, Message: e.Message,
		})
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Time.Before(st.Events[j].Time) })
	return st, nil
}

// pods lists the job's pods, failed and finished ones included, by index
// then creation time.
func (b *backend) pods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	var list *corev1.PodList
	ref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	err := b.call(ctx, "pods", ref, func(ctx context.Context) error {
		var err error
		list, err = b.client.listPods(ctx, job.Namespace, metav1.ListOptions{LabelSelector: podSelector(job)})
		return err
	})
	if err != nil {
		return nil, err
	}
	pods := list.Items
	sort.SliceStable(pods, func(i, j int) bool {
		ii, ij := podIndex(&pods[i]), podIndex(&pods[j])
		if ii != nil && ij != nil && *ii != *ij {
			return *ii < *ij
		}
		return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
	})
	return pods, nil
}

// podSelector matches the pods the Job controller created for this job.
func podSelector(job *batchv1.Job) string {
	return batchv1.ControllerUidLabel + "=" + string(job.UID)
}

// podIndex reads the completion index the Job controller annotates.
func podIndex(p *corev1.Pod) *int32 {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return nil
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil
	}
	idx := int32(i)
	return &idx
}

// priorFailures numbers a pod among the retries of its index: Kubernetes
// keeps no lineage, but a replacement pod is only created after a failure,
// so the failed pods of the same index created before it are its earlier
// attempts. NonIndexed pods share one lineage.
func priorFailures(pod *corev1.Pod, pods []corev1.Pod) int32 {
	idx := podIndex(pod)
	var n int32
	for i := range pods {
		p := &pods[i]
		if p.UID == pod.UID || p.Status.Phase != corev1.PodFailed || !p.CreationTimestamp.Before(&pod.CreationTimestamp) {
			continue
		}
		if pi := podIndex(p); (pi == nil) == (idx == nil) && (idx == nil || *pi == *idx) {
			n++
		}
	}
	return n
}

// attempts turns a pod into its runs: the previous container run (kept by the
// kubelet across an in-place restart) and the current one. base is the
// attempt number of the pod's first run.
func attempts(p corev1.Pod, base int32) []backends.Attempt {
	idx := podIndex(&p)
	var restarts int32
	var cur, last *corev1.ContainerStateTerminated
	for _, cs := range p.Status.ContainerStatuses {
		if cs.RestartCount > restarts {
			restarts = cs.RestartCount
		}
		if t := cs.State.Terminated; t != nil && (cur == nil || t.ExitCode != 0) {
			cur = t
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			last = t
		}
	}
	var out []backends.Attempt
	if restarts > 0 && last != nil {
		out = append(out, terminated(p.Name, idx, base+restarts-1, last))
	}
	a := backends.Attempt{Pod: p.Name, Index: idx, Attempt: base + restarts, Phase: backends.Phase(p.Status.Phase)}
	if p.Status.StartTime != nil {
		a.StartTime = &p.Status.StartTime.Time
	}
	if cur != nil {
		a = terminated(p.Name, idx, base+restarts, cur)
		a.Phase = backends.Phase(p.Status.Phase)
	} else if p.Status.Reason != "" {
		a.Reason = p.Status.Reason
	}
	return append(out, a)
}

func terminated(pod string, idx *int32, attempt int32, t *corev1.ContainerStateTerminated) backends.Attempt {
	code := t.ExitCode
	a := backends.Attempt{Pod: pod, Index: idx, Attempt: attempt, ExitCode: &code, Reason: t.Reason, Phase: "Failed"}
	if code == 0 {
		a.Phase = "Succeeded"
	}
	if !t.StartedAt.IsZero() {
		a.StartTime = &t.StartedAt.Time
	}
	if !t.FinishedAt.IsZero() {
		a.FinishTime = &t.FinishedAt.Time
	}
	return a
}
