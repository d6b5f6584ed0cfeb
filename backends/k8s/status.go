package k8s

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
)

// Status reads the Job object: one request whatever the pod count. Only
// while some of its active pods are not running (status.ready < active:
// scheduling, pulling an image, creating the container, crash-looping) does
// it read those pods too, to say why in the message ("waiting: pod X:
// ImagePullBackOff: …"; Watch says so too, see waitExplainer). That second
// request lists only the job's unfinished pods (a field selector on the
// phase), at most waitingSample of them, so its size is bounded by the
// parallelism and by a constant, never by the completions; and a job whose
// pods all run costs one request, as before.
func (b *backend) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	job, err := b.get(ctx, "status", ref)
	if err != nil {
		return nil, err
	}
	st := toStatus(job)
	if notRunning(job) > 0 && !st.Phase.Terminal() {
		pods, err := b.unfinishedPods(ctx, job)
		if err != nil {
			return nil, err
		}
		if w := explainWaiting(pods, nil); w != "" {
			st.Message = w
		}
	}
	return st, nil
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

// waitingSample bounds the pods status reads to explain a wait: a job of
// parallelism 10,000 costs no more than one of 200.
const waitingSample = 200

// notRunning is how many of the job's active pods are not ready (not
// running, for a batch pod without readiness probes), by the job's own
// counts; 0 when the API server does not report ready pods.
func notRunning(job *batchv1.Job) int32 {
	if job.Status.Ready == nil {
		return 0
	}
	return job.Status.Active - *job.Status.Ready
}

// toStatus normalizes a Job. Only the Complete and Failed conditions are
// terminal: Kubernetes sets them once every pod has stopped. Before that,
// FailureTarget (the controller has decided: the deadline passed, the
// backoff limit was reached) says so in the message while pods stop.
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
	var failing string
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
		case batchv1.JobFailureTarget:
			failing = "failing: " + c.Reason
			if c.Message != "" {
				failing += ": " + c.Message
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
		if failing != "" {
			st.Message = failing
			if n := job.Status.Terminating; n != nil && *n > 0 {
				st.Message += fmt.Sprintf(" (%d %s stopping)", *n, plural(int(*n), "pod", "pods"))
			}
		}
	}
	return st
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pods lists the job's pods, failed and finished ones included, by index
// then creation time.
func (b *backend) pods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	pods, err := b.listJobPods(ctx, job, metav1.ListOptions{LabelSelector: podSelector(job)})
	if err != nil {
		return nil, err
	}
	sortPods(pods)
	return pods, nil
}

// unfinishedPods lists the job's pods that are neither Succeeded nor
// Failed: the active and terminating ones, at most waitingSample of them.
func (b *backend) unfinishedPods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	pods, err := b.listJobPods(ctx, job, unfinishedPodsOptions(job))
	if err != nil {
		return nil, err
	}
	sortPods(pods)
	return pods, nil
}

// unfinishedPodsOptions select the pods unfinishedPods lists.
func unfinishedPodsOptions(job *batchv1.Job) metav1.ListOptions {
	return metav1.ListOptions{
		LabelSelector: podSelector(job),
		FieldSelector: "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed),
		Limit:         waitingSample,
	}
}

func (b *backend) listJobPods(ctx context.Context, job *batchv1.Job, opts metav1.ListOptions) ([]corev1.Pod, error) {
	var list *corev1.PodList
	ref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	err := b.call(ctx, "pods", ref, func(ctx context.Context) error {
		var err error
		list, err = b.client.listPods(ctx, job.Namespace, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func sortPods(pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		ii, ij := podIndex(&pods[i]), podIndex(&pods[j])
		if ii != nil && ij != nil && *ii != *ij {
			return *ii < *ij
		}
		if !pods[i].CreationTimestamp.Equal(&pods[j].CreationTimestamp) {
			return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
		}
		return pods[i].Name < pods[j].Name
	})
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

// runs is how many times a pod's containers have been started: one, plus
// the in-place restarts of the container restarted most (OnFailure).
func runs(p *corev1.Pod) int32 {
	var restarts int32
	for _, cs := range p.Status.ContainerStatuses {
		restarts = max(restarts, cs.RestartCount)
	}
	return restarts + 1
}

// attemptBase numbers a pod's first run among the attempts of its index:
// Kubernetes keeps no lineage, but a replacement pod is only created after
// a failure, so the failed pods of the same index created before it, with
// every run each of them had, are its earlier attempts. NonIndexed pods
// share one lineage.
func attemptBase(pod *corev1.Pod, pods []corev1.Pod) int32 {
	idx := podIndex(pod)
	var n int32
	for i := range pods {
		p := &pods[i]
		if p.UID == pod.UID || p.Status.Phase != corev1.PodFailed || !p.CreationTimestamp.Before(&pod.CreationTimestamp) {
			continue
		}
		if pi := podIndex(p); (pi == nil) == (idx == nil) && (idx == nil || *pi == *idx) {
			n += runs(p)
		}
	}
	return n
}
