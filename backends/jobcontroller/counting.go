package jobcontroller

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// canRemoveFinalizer: the controller is done with a pod once the job is
// finishing, the pod succeeded, or it failed, unless with
// backoffLimitPerIndex it is the failed pod its replacement will count from.
func (m *Machine) canRemoveFinalizer(ctx *syncCtx, p *pod, considerFailed bool) bool {
	if ctx.finished != nil || p.phase == corev1.PodSucceeded {
		return true
	}
	if !considerFailed {
		return false
	}
	if d, ok := ctx.delayed[int(p.index)]; ok && d == p {
		return false
	}
	return true
}

// newFinishedPods is getNewFinishedPods: pods not counted yet that
// succeeded or failed (the latter whatever the pod failure policy says).
func (m *Machine) newFinishedPods() (succeeded, failed []*pod) {
	for _, p := range m.live {
		if !p.finalizer || !m.validIndex(p) {
			continue
		}
		if p.phase == corev1.PodSucceeded {
			succeeded = append(succeeded, p)
		} else if m.isPodFailed(p) {
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

func (m *Machine) validIndex(p *pod) bool {
	return !isIndexed(m.job) || (p.index >= 0 && p.index < *m.job.Spec.Completions)
}

func (m *Machine) nonIgnored(failed []*pod) int32 {
	n := int32(0)
	for _, p := range failed {
		if _, count, _ := m.matchPodFailurePolicy(p); count {
			n++
		}
	}
	return n
}

// isPodFailed: Failed, or (unless only failed pods are replaced) deleted
// before it succeeded.
func (m *Machine) isPodFailed(p *pod) bool {
	if p.phase == corev1.PodFailed {
		return true
	}
	if m.onlyReplaceFailedPods() {
		return false
	}
	return p.deleted && p.phase != corev1.PodSucceeded
}

// onlyReplaceFailedPods: podReplacementPolicy Failed, which a pod failure
// policy implies.
func (m *Machine) onlyReplaceFailedPods() bool {
	s := &m.job.Spec
	return (s.PodReplacementPolicy != nil && *s.PodReplacementPolicy == batchv1.Failed) || s.PodFailurePolicy != nil
}

// failJobMessage is getFailJobMessage: the first failed pod matching a
// FailJob rule fails the job.
func (m *Machine) failJobMessage() *string {
	if m.job.Spec.PodFailurePolicy == nil {
		return nil
	}
	for _, p := range m.live {
		if m.isPodFailed(p) && !p.goneFromAPI() {
			if msg, _, _ := m.matchPodFailurePolicy(p); msg != nil {
				return msg
			}
		}
	}
	return nil
}

// pastBackoffLimitOnFailure sums the restarts of every container, init
// containers included, of the pods still Pending or Running. Restarts of
// pods that ended no longer count. Note the limit is reached at equality
// (a backoffLimit of 0: at the first restart).
func (m *Machine) pastBackoffLimitOnFailure() bool {
	if m.policy() != corev1.RestartPolicyOnFailure {
		return false
	}
	var n int32
	for _, p := range m.live {
		if p.phase == corev1.PodRunning || p.phase == corev1.PodPending {
			n += p.restartCount()
		}
	}
	if limit := *m.job.Spec.BackoffLimit; limit > 0 {
		return n >= limit
	}
	return n > 0
}

func (m *Machine) pastActiveDeadline(now time.Time) bool {
	ads := m.job.Spec.ActiveDeadlineSeconds
	if ads == nil || m.startTime == nil || m.suspended() {
		return false
	}
	return now.Sub(*m.startTime) >= time.Duration(*ads)*time.Second
}
