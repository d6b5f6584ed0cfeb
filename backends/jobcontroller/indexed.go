package jobcontroller

import (
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// indexedOutcome counts indexes: completed, failed (backoffLimitPerIndex),
// and whether that ends the job.
func (m *Machine) indexedOutcome(ctx *syncCtx, now time.Time) {
	s := &m.job.Spec
	completions := int(*s.Completions)
	var done []int
	for _, p := range m.live {
		if ix := int(p.index); p.phase == corev1.PodSucceeded && p.finalizer && ix >= 0 && ix < completions {
			done = append(done, ix)
		}
	}
	ctx.done = m.completed.withIndexes(sortedUnique(done))
	ctx.succeeded = int32(ctx.done.total())
	if s.BackoffLimitPerIndex != nil {
		var prev intervals
		if m.failedIndexes != nil {
			prev = *m.failedIndexes
		}
		var failedIdx []int
		for _, p := range m.live {
			if ix := int(p.index); ix >= 0 && ix < completions && p.finalizer && m.isIndexFailed(p) {
				failedIdx = append(failedIdx, ix)
			}
		}
		f := prev.withIndexes(sortedUnique(failedIdx))
		ctx.failedIdx = &f
		if ctx.finished == nil {
			switch {
			case s.MaxFailedIndexes != nil && f.total() > int(*s.MaxFailedIndexes):
				ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes, now)
			case f.total() > 0 && f.total()+ctx.done.total() >= completions:
				ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, msgFailedIndexes, now)
			}
		}
		ctx.delayed = m.podsWithDelayedDeletion(ctx)
	}
	if ctx.finished == nil {
		if msg, met := m.matchSuccessPolicy(ctx.done); met {
			ctx.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
		}
	}
}

// isIndexFailed: the pod's index has no retry left (or a FailIndex rule
// matched).
func (m *Machine) isIndexFailed(p *pod) bool {
	if !m.isPodFailed(p) {
		return false
	}
	counted := true
	if m.job.Spec.PodFailurePolicy != nil {
		_, count, action := m.matchPodFailurePolicy(p)
		if action != nil && *action == batchv1.PodFailurePolicyActionFailIndex {
			return true
		}
		counted = count
	}
	return counted && p.failCount >= *m.job.Spec.BackoffLimitPerIndex
}

// podsWithDelayedDeletion is getPodsWithDelayedDeletionPerIndex: per index
// still to run, its latest failed pod, whose failure counts the replacement
// inherits.
func (m *Machine) podsWithDelayedDeletion(ctx *syncCtx) map[int]*pod {
	activeIdx := map[int]bool{}
	for _, p := range ctx.activePods {
		if p.index >= 0 {
			activeIdx[int(p.index)] = true
		}
	}
	out := map[int]*pod{}
	for _, p := range m.live {
		if !p.finalizer || !m.validIndex(p) || !m.isPodFailed(p) {
			continue
		}
		ix := int(p.index)
		if ctx.done.has(ix) || ctx.failedIdx.has(ix) || activeIdx[ix] {
			continue
		}
		if last, ok := out[ix]; !ok || (last.failCount+last.ignoreCount <= p.failCount+p.ignoreCount && !p.finishedTime().Before(last.finishedTime())) {
			out[ix] = p
		}
	}
	return out
}

func sameIntervals(a, b *intervals) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

func sortedUnique(xs []int) []int {
	slices.Sort(xs)
	return slices.Compact(xs)
}
