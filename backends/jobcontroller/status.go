package jobcontroller

import (
	"cmp"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
)

// Status is the Job's status as Kubernetes would show it, plus what
// describe needs.
type Status struct {
	// Phase, Reason and Message are batchctl's normalized view, read from
	// the conditions as the k8s backend reads them: success has no reason.
	Phase   backends.Phase
	Reason  string
	Message string

	Active      int32
	Succeeded   int32
	Failed      int32
	Terminating int32 // deleted pods still stopping
	// CompletedIndexes and FailedIndexes are in Kubernetes' form ("1,3-5";
	// two neighbours are "3,4"). FailedIndexes is nil without
	// backoffLimitPerIndex.
	CompletedIndexes string
	FailedIndexes    *string
	StartTime        *time.Time
	CompletionTime   *time.Time
	Conditions       []batchv1.JobCondition // with Kubernetes' reasons

	// NextRetry: when a pod or container held back by a backoff will start.
	NextRetry *time.Time

	// Attempts: one per pod run (a pod, then each in-place restart), by
	// index then creation. The attempt number is the earlier failed pods
	// of the index (NonIndexed: of the job) that Kubernetes still lists,
	// plus the pod's earlier runs.
	Attempts []backends.Attempt
	Events   []backends.Event
	Pods     []Pod
}

// Pod is one pod of the job.
type Pod struct {
	Name     string
	Index    *int32
	Phase    string
	Reason   string // DeadlineExceeded, Evicted
	Message  string
	Restarts int32
	Created  time.Time
	// Deleted: the controller or an eviction deleted the pod; Kubernetes no
	// longer lists it once it stopped, so its describe shows no attempt for
	// it, nor counts it in later attempt numbers.
	Deleted bool
}

// Status returns the current status; the slices are the caller's.
func (m *Machine) Status() Status {
	st := m.Summary()
	st.Events = slices.Clone(m.events)
	base := m.priorFailures()
	pods := slices.Clone(m.pods)
	slices.SortStableFunc(pods, func(a, b *pod) int { return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.seq, b.seq)) })
	for _, p := range pods {
		st.Pods = append(st.Pods, Pod{
			Name: p.name, Index: indexPtr(p.index), Phase: string(p.phase), Reason: p.reason, Message: p.message,
			Restarts: p.restartCount(), Created: p.created, Deleted: p.deleted,
		})
		st.Attempts = append(st.Attempts, p.attempts(base[p])...)
	}
	return st
}

// Summary is Status without Attempts, Events and Pods: cheap enough for a
// driver to take after every change of a job with thousands of pods (see
// PodAttempts and EventsSince for the rest, piece by piece).
func (m *Machine) Summary() Status {
	st := Status{
		Active: m.active, Succeeded: m.succeeded, Failed: m.failed, Terminating: m.terminating,
		CompletedIndexes: m.completed.String(),
		StartTime:        clone(m.startTime), CompletionTime: clone(m.completionTime),
		Conditions: slices.Clone(m.conditions),
	}
	for i := range st.Conditions {
		st.Conditions[i] = *st.Conditions[i].DeepCopy()
	}
	if m.failedIndexes != nil {
		s := m.failedIndexes.String()
		st.FailedIndexes = &s
	}
	st.Phase, st.Reason, st.Message = m.phase()
	st.NextRetry = m.nextRetry()
	return st
}

// PodAttempts are one pod's attempts, its runs in order (nil for a pod the
// machine does not know), numbered as Status numbers them now. The number
// of a pod's first run can change later, when an earlier failed pod of its
// index is deleted: a driver keeping attempts keys them by pod and run.
func (m *Machine) PodAttempts(name string) []backends.Attempt {
	p := m.byName[name]
	if p == nil {
		return nil
	}
	var base int32
	for _, q := range m.pods { // creation order
		if q == p {
			break
		}
		if q.index == p.index && q.phase == corev1.PodFailed && !q.deleted {
			base++
		}
	}
	return p.attempts(base)
}

// EventsSince returns the events recorded after the first n, oldest first.
func (m *Machine) EventsSince(n int) []backends.Event {
	if n >= len(m.events) {
		return nil
	}
	return slices.Clone(m.events[max(n, 0):])
}

// attempts are p's runs numbered from base.
func (p *pod) attempts(base int32) []backends.Attempt {
	out := make([]backends.Attempt, 0, len(p.runs))
	for i, r := range p.runs {
		a := backends.Attempt{Pod: p.name, Index: indexPtr(p.index), Attempt: base + int32(i), Phase: backends.Phase(r.phase),
			ExitCode: clone(r.code), Reason: r.reason, StartTime: clone(&r.start)}
		if r.finished {
			a.FinishTime = clone(&r.end)
		}
		out = append(out, a)
	}
	return out
}

// phase is the k8s backend's toStatus reading of the job.
func (m *Machine) phase() (backends.Phase, string, string) {
	ph, reason, msg := backends.Pending, "", ""
	if m.startTime != nil || m.active > 0 || m.failed > 0 || m.succeeded > 0 {
		ph = backends.Running
	}
	for _, c := range m.conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			ph, reason, msg = backends.Succeeded, "", ""
		case batchv1.JobFailed:
			ph, reason, msg = backends.Failed, c.Reason, c.Message
		case batchv1.JobSuspended:
			if !ph.Terminal() {
				ph, reason, msg = backends.Pending, backends.ReasonSuspended, c.Message
			}
		}
	}
	return ph, reason, msg
}

// priorFailures numbers each pod's first attempt: the failed pods created
// before it in its lineage that Kubernetes still lists (not deleted), as
// the k8s backend numbers attempts.
func (m *Machine) priorFailures() map[*pod]int32 {
	out := make(map[*pod]int32, len(m.pods))
	failed := map[int32]int32{}
	for _, p := range m.pods { // creation order
		out[p] = failed[p.index]
		if p.phase == corev1.PodFailed && !p.deleted {
			failed[p.index]++
		}
	}
	return out
}

// nextRetry is the earliest start held back by a backoff.
func (m *Machine) nextRetry() *time.Time {
	if m.finished() {
		return nil
	}
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	add(m.requeueAt)
	for _, p := range m.pods {
		if p.stopping || p.terminal() {
			continue
		}
		for _, cs := range [][]*container{p.inits, p.ctrs} {
			for _, c := range cs {
				add(c.restartAt)
				add(c.retryAt)
			}
		}
	}
	if next.IsZero() {
		return nil
	}
	return &next
}

// Normalized is the status in batchctl's backend-neutral form, less Backend
// and UID, which the driver knows.
func (m *Machine) Normalized() backends.Status {
	st := m.Status()
	out := m.normalized(st)
	out.Attempts, out.Events = st.Attempts, st.Events
	return out
}

// NormalizedSummary is Normalized without Attempts and Events (see Summary).
func (m *Machine) NormalizedSummary() backends.Status { return m.normalized(m.Summary()) }

func (m *Machine) normalized(st Status) backends.Status {
	s := &m.job.Spec
	out := backends.Status{
		Name: m.name, Namespace: m.job.Namespace, Phase: st.Phase,
		Active: st.Active, Succeeded: st.Succeeded, Failed: st.Failed,
		Completions: 1, Parallelism: *s.Parallelism, CompletionMode: string(*s.CompletionMode),
		CompletedIndexes: st.CompletedIndexes,
		CreationTime:     clone(&m.created), StartTime: st.StartTime, CompletionTime: st.CompletionTime,
		Reason: st.Reason, Message: st.Message, Labels: m.job.Labels, NextRetry: st.NextRetry,
	}
	if st.FailedIndexes != nil {
		out.FailedIndexes = *st.FailedIndexes
	}
	if s.Completions != nil {
		out.Completions = *s.Completions
	}
	if out.CompletionTime == nil && st.Phase == backends.Failed {
		if c := m.condition(batchv1.JobFailed); c != nil {
			out.CompletionTime = clone(&c.LastTransitionTime.Time)
		}
	}
	return out
}

func indexPtr(ix int32) *int32 {
	if ix < 0 {
		return nil
	}
	return &ix
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
