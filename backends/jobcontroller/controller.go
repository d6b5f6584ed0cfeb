package jobcontroller

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Reasons and messages of the Job's conditions (job_controller.go).
const (
	msgBackoffLimit     = "Job has reached the specified backoff limit"
	msgDeadline         = "Job was active longer than specified deadline"
	msgMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes    = "Job has failed indexes"
	msgCompletions      = "Reached expected number of succeeded pods"
)

// syncCtx is job_controller.go's syncJobCtx, less what the machine keeps.
type syncCtx struct {
	finished    *batchv1.JobCondition
	succeeded   int32
	done        intervals // completed indexes, with this sync's
	failedIdx   *intervals
	delayed     map[int]*pod // backoffLimitPerIndex: failed pod kept until replaced
	record      backoffRecord
	terminating int32
	activePods  []*pod
}

// sync is syncJob: count what finished, decide whether the job failed or
// succeeded, otherwise create or delete pods; then update the status.
// Kubernetes' v1.36 feature gates are all on: JobPodReplacementPolicy,
// JobManagedBy (so Failed/Complete wait for terminating pods, after
// FailureTarget/SuccessCriteriaMet), JobSuccessPolicy, JobBackoffLimitPerIndex,
// MutableSchedulingDirectivesForSuspendedJobs (suspending clears startTime).
func (m *Machine) sync(now time.Time) {
	if m.finished() {
		return
	}
	s := &m.job.Spec
	m.requeueAt = time.Time{}
	m.deletedNow = map[*pod]bool{}
	ctx := &syncCtx{}
	for _, p := range m.live {
		if p.active() {
			ctx.activePods = append(ctx.activePods, p)
		}
		if p.terminatingNow() {
			ctx.terminating++
		}
	}
	active := int32(len(ctx.activePods))
	newSucceeded, newFailed := m.newFinishedPods()
	ctx.succeeded = m.succeeded + int32(len(newSucceeded))
	failed := m.failed + m.nonIgnored(newFailed)
	if m.startTime == nil && !m.suspended() {
		m.startTime = timePtr(now)
	}
	ctx.record = m.backoff.next(newSucceeded, newFailed)

	// A condition from an earlier sync stands; then failures; then success.
	if c := m.condition(batchv1.JobSuccessCriteriaMet); c != nil {
		ctx.finished = c
	} else if c := m.condition(batchv1.JobFailureTarget); c != nil {
		ctx.finished = newCondition(batchv1.JobFailed, c.Reason, c.Message, now)
	} else if msg := m.failJobMessage(); msg != nil {
		ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, *msg, now)
	}
	if ctx.finished == nil {
		switch {
		case failed > *s.BackoffLimit || m.pastBackoffLimitOnFailure():
			ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit, now)
		case m.pastActiveDeadline(now):
			ctx.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadline, now)
		}
	}
	if isIndexed(m.job) {
		m.indexedOutcome(ctx, now)
	}

	suspendChanged := false
	if ctx.finished != nil {
		for _, p := range ctx.activePods {
			m.deletePod(p, false, now)
		}
		ctx.terminating += active
		active = 0
	} else {
		active = m.manageJob(ctx, now)
		complete := ctx.succeeded > 0 && active == 0 // work queue: any success, then all ended
		if s.Completions != nil {
			complete = ctx.succeeded >= *s.Completions && active == 0
		}
		if complete {
			ctx.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletions, now)
		} else {
			suspendChanged = m.suspendCondition(now)
		}
	}
	needsFlush := suspendChanged || active != m.active || ctx.terminating != m.terminating
	m.active, m.terminating = active, ctx.terminating
	m.track(ctx, needsFlush, now)
}

// track is trackJobStatusAndRemoveFinalizers with its flush: every pod the
// controller is done with loses its tracking finalizer and is counted, the
// interim conditions are written, and the final one once no pod is left
// terminating.
func (m *Machine) track(ctx *syncCtx, needsFlush bool, now time.Time) {
	indexed := isIndexed(m.job)
	completions := 0
	if indexed {
		completions = int(*m.job.Spec.Completions)
	}
	for _, p := range m.live {
		if !p.finalizer {
			continue
		}
		considerFailed := m.isPodFailed(p)
		if m.deletedNow[p] {
			// The informer has not seen this sync's deletions yet.
			considerFailed = p.phase == corev1.PodFailed
		}
		if !m.canRemoveFinalizer(ctx, p, considerFailed) {
			continue
		}
		p.finalizer = false
		validIndex := !indexed || (p.index >= 0 && int(p.index) < completions)
		switch {
		case p.phase == corev1.PodSucceeded:
			if !indexed {
				m.succeeded++
				needsFlush = true
			}
		case considerFailed || (ctx.finished != nil && ctx.finished.Type != batchv1.JobSuccessCriteriaMet):
			// A job that failed counts every pod it still had as failed.
			if _, count, _ := m.matchPodFailurePolicy(p); count && validIndex {
				m.failed++
				needsFlush = true
			}
		}
	}
	if indexed {
		if s := ctx.done.String(); s != m.completed.String() {
			needsFlush = true
		}
		m.completed = ctx.done
		m.succeeded = int32(ctx.done.total())
		if !sameIntervals(m.failedIndexes, ctx.failedIdx) {
			needsFlush = true
		}
		m.failedIndexes = ctx.failedIdx
	}
	f := ctx.finished
	if f != nil && f.Type == batchv1.JobFailureTarget {
		m.conditions = append(m.conditions, *f)
		needsFlush = true
		f = newCondition(batchv1.JobFailed, f.Reason, f.Message, now)
	}
	if f != nil && f.Type == batchv1.JobSuccessCriteriaMet {
		if m.condition(batchv1.JobSuccessCriteriaMet) == nil {
			m.conditions = append(m.conditions, *f)
			needsFlush = true
		}
		f = newCondition(batchv1.JobComplete, f.Reason, f.Message, now)
	}
	if needsFlush {
		m.backoff = ctx.record
	}
	// enactJobFinished: the terminal condition waits for terminating pods.
	if f == nil || ctx.terminating > 0 {
		return
	}
	m.ensureCondition(f.Type, f.Status, f.Reason, f.Message, now)
	if f.Type == batchv1.JobComplete {
		m.completionTime = timePtr(now)
		m.event(now, "Normal", "Completed", m.jobObject(), "Job completed")
	} else {
		m.event(now, "Warning", f.Reason, m.jobObject(), f.Message)
	}
	m.requeueAt = time.Time{}
}

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func timePtr(t time.Time) *time.Time { return &t }
