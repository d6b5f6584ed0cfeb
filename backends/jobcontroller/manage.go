package jobcontroller

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// manageJob creates or deletes pods so that as many run as parallelism and
// the remaining completions allow, holding new pods back while a pod
// failure backoff runs. It returns the number of active pods.
func (m *Machine) manageJob(ctx *syncCtx, now time.Time) int32 {
	s := &m.job.Spec
	active := int32(len(ctx.activePods))
	if m.suspended() {
		// deleteJobPods: the finalizer goes first, so these pods never count.
		for _, p := range byRemovalOrder(ctx.activePods) {
			m.deletePod(p, true, now)
		}
		ctx.terminating += active
		return 0
	}
	var want int32
	switch {
	case s.Completions == nil && ctx.succeeded > 0:
		want = active // work queue: after a success, no new pods
	case s.Completions == nil:
		want = *s.Parallelism
	default:
		want = max(0, min(*s.Completions-ctx.succeeded, *s.Parallelism))
	}
	if rm := active - want; rm > 0 {
		for _, p := range byRemovalOrder(ctx.activePods)[:rm] {
			m.deletePod(p, true, now)
		}
		ctx.terminating += rm
		return active - rm
	}
	diff := want - active
	if m.onlyReplaceFailedPods() {
		diff -= ctx.terminating // wait until they are gone
	}
	if diff <= 0 {
		return active
	}
	perIndex := s.BackoffLimitPerIndex != nil
	if !perIndex {
		if r := remaining(ctx.record.failures, ctx.record.lastFailure, now, m.opts.PodBackoff, m.opts.PodBackoffCap); r > 0 {
			m.requeueAt = now.Add(r)
			return active
		}
	}
	indexes := make([]int32, diff)
	for i := range indexes {
		indexes[i] = -1
	}
	if isIndexed(m.job) {
		indexes = m.firstPendingIndexes(ctx, int(diff))
		if perIndex {
			var wait time.Duration
			indexes, wait = m.indexesReady(ctx, indexes, now)
			if wait > 0 {
				m.requeueAt = now.Add(wait)
				return active
			}
		}
	}
	created := int32(0)
	for _, ix := range indexes {
		if m.opts.HoldPod != nil {
			if until, held := m.opts.HoldPod(ix, now); held {
				if !until.IsZero() && (m.requeueAt.IsZero() || until.Before(m.requeueAt)) {
					m.requeueAt = until
				}
				continue
			}
		}
		m.createPod(ctx, ix, now)
		created++
	}
	return active + created
}

// indexesReady is getPodCreationInfoForIndependentIndexes: the indexes
// whose own backoff is over, or else how long until the first one is.
func (m *Machine) indexesReady(ctx *syncCtx, indexes []int32, now time.Time) ([]int32, time.Duration) {
	var ready []int32
	var wait time.Duration
	for _, ix := range indexes {
		r := time.Duration(0)
		if last := ctx.delayed[int(ix)]; last != nil {
			r = remaining(last.failCount+last.ignoreCount+1, last.finishedTime(), now, m.opts.PodBackoff, m.opts.PodBackoffCap)
		}
		if r == 0 {
			ready = append(ready, ix)
		} else if wait == 0 || r < wait {
			wait = r
		}
	}
	if len(ready) > 0 {
		return ready, 0
	}
	return nil, wait
}

// firstPendingIndexes: the lowest indexes neither succeeded, failed, nor
// running (nor, when only failed pods are replaced, still terminating).
func (m *Machine) firstPendingIndexes(ctx *syncCtx, count int) []int32 {
	completions := int(*m.job.Spec.Completions)
	taken := func(ps []*pod) []int {
		var ix []int
		for _, p := range ps {
			if p.index >= 0 {
				ix = append(ix, int(p.index))
			}
		}
		return sortedUnique(ix)
	}
	nonPending := ctx.done.withIndexes(taken(ctx.activePods))
	if m.onlyReplaceFailedPods() {
		var term []*pod
		for _, p := range m.live {
			if p.terminatingNow() {
				term = append(term, p)
			}
		}
		nonPending = nonPending.withIndexes(taken(term))
	}
	if ctx.failedIdx != nil {
		nonPending = nonPending.merge(*ctx.failedIdx)
	}
	var out []int32
	candidate := 0
	for _, iv := range nonPending {
		for ; candidate < completions && len(out) < count && candidate < iv.first; candidate++ {
			out = append(out, int32(candidate))
		}
		candidate = max(candidate, iv.last+1)
	}
	for ; candidate < completions && len(out) < count; candidate++ {
		out = append(out, int32(candidate))
	}
	return out
}

// createPod is the controller creating a pod and the kubelet starting it.
func (m *Machine) createPod(ctx *syncCtx, index int32, now time.Time) {
	t := &m.job.Spec.Template.Spec
	p := &pod{
		name: m.podName(index), index: index, seq: m.seq, created: now,
		phase: corev1.PodPending, finalizer: true, readyAt: now,
		runs: []run{{start: now, phase: corev1.PodPending}},
	}
	m.seq++
	for _, c := range t.InitContainers {
		p.inits = append(p.inits, &container{name: c.Name, init: true})
	}
	for _, c := range t.Containers {
		p.ctrs = append(p.ctrs, &container{name: c.Name})
	}
	if m.job.Spec.BackoffLimitPerIndex != nil {
		// getNewIndexFailureCounts: the replaced pod's counts, plus its failure.
		if last := ctx.delayed[int(index)]; last != nil {
			p.failCount, p.ignoreCount = last.failCount, last.ignoreCount
			if _, count, _ := m.matchPodFailurePolicy(last); count {
				p.failCount++
			} else {
				p.ignoreCount++
			}
		}
	}
	m.pods = append(m.pods, p)
	m.live = append(m.live, p)
	m.byName[p.name] = p
	var ix *int32
	if index >= 0 {
		ix = &index
	}
	m.act(CreatePod{Pod: p.name, Index: ix})
	m.event(now, "Normal", "SuccessfulCreate", m.jobObject(), "Created pod: "+p.name)
	m.podSync(p, now)
}

// deletePod is the controller deleting a pod (gracefully: the kubelet
// stops it). dropFinalizer: deleteJobPods, whose pods are never counted.
func (m *Machine) deletePod(p *pod, dropFinalizer bool, now time.Time) {
	if dropFinalizer {
		p.finalizer = false
	}
	if !p.deleted {
		m.deletedNow[p] = true
	}
	m.markDeleted(p, now)
	m.event(now, "Normal", "SuccessfulDelete", m.jobObject(), "Deleted pod: "+p.name)
	m.stopPod(p, m.podGrace(), now)
}

func (m *Machine) markDeleted(p *pod, now time.Time) {
	if !p.deleted {
		p.deleted, p.deletedAt = true, now
	}
}

// byRemovalOrder is controller.ActivePods' order, the pods deleted first
// first: not yet running, not ready, restarted more, created later.
func byRemovalOrder(ps []*pod) []*pod {
	out := slices.Clone(ps)
	rank := map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodRunning: 2}
	slices.SortStableFunc(out, func(a, b *pod) int {
		return cmp.Or(
			cmp.Compare(rank[a.phase], rank[b.phase]),
			cmp.Compare(b2i(a.ready), b2i(b.ready)),
			cmp.Compare(b.restartCount(), a.restartCount()),
			cmp.Compare(b.seq, a.seq),
		)
	})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// podName is the name Kubernetes generates (job-xxxxx, job-3-xxxxx, the
// prefix cut to fit), with a deterministic suffix.
func (m *Machine) podName(index int32) string {
	if m.opts.NamePod != nil {
		name := m.opts.NamePod(index)
		if _, taken := m.byName[name]; taken || name == "" {
			name += "-" + suffix(m.seq) // keep pods apart whatever NamePod does
		}
		return name
	}
	const maxPrefix = 58 // names.MaxGeneratedNameLength: 63 less the 5 random characters
	prefix := m.name + "-"
	if index >= 0 {
		mid := "-" + strconv.Itoa(int(index)) + "-"
		if prefix = m.name + mid; len(prefix) > maxPrefix {
			prefix = prefix[:maxPrefix-len(mid)] + mid
		}
	} else if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + suffix(m.seq)
}

// suffix writes n in the alphabet Kubernetes generates names from.
func suffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte("bbbbb")
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		b[i] = alphabet[n%len(alphabet)]
		n /= len(alphabet)
	}
	return string(b)
}

func (m *Machine) jobObject() string { return "Job/" + m.name }

func (m *Machine) namespace() string {
	if m.job.Namespace != "" {
		return m.job.Namespace
	}
	return "default"
}
