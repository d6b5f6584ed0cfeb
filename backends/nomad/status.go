package nomad

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// snapshot is what a status is computed from: the job and its allocations.
type snapshot struct {
	job    *api.Job
	allocs []*api.AllocationListStub
	index  uint64 // the allocations' index, for the next blocking query
}

// load reads the allocations (a blocking query when waitIndex > 0) and then
// the job: two requests whatever the number of allocations. A job that is
// gone is ErrNotFound.
func (b *backend) load(ctx context.Context, op string, ref backends.Ref, waitIndex uint64, wait time.Duration) (*snapshot, error) {
	var s snapshot
	err := b.call(ctx, op, ref, func(c *api.Client) error {
		q := b.query(ref).WithContext(ctx)
		q.WaitIndex, q.WaitTime = waitIndex, wait
		allocs, qm, err := c.Jobs().Allocations(ref.Name, true, q)
		if err != nil {
			return err
		}
		s.allocs, s.index = allocs, qm.LastIndex
		s.job, _, err = c.Jobs().Info(ref.Name, b.query(ref).WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.job.Type == nil || *s.job.Type != api.JobTypeBatch || len(s.job.TaskGroups) == 0 {
		return nil, &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref,
			Msg: fmt.Sprintf("Nomad job %s is not a batch job batchctl can run", ref.Name)}
	}
	return &s, nil
}

func (b *backend) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	ref = b.ref(ref)
	s, err := b.load(ctx, "status", ref, 0, 0)
	if err != nil {
		return nil, err
	}
	return toStatus(s.job, s.allocs, time.Now()), nil
}

// indexed is one completion index's allocations, oldest first.
type indexed struct {
	index  int32
	allocs []*api.AllocationListStub
}

// toStatus normalizes a Nomad job and its allocations at time now.
// CompletionTime is when the job finished, Succeeded or Failed.
//
// Allocations are pods: pending or running ones are active, complete ones
// succeeded, failed or lost ones failed. A completion index is out of
// retries when its newest allocation failed and Nomad's own reschedule
// rule (attempts within the interval) allows no replacement; the job then
// failed with BackoffLimitExceeded, as a Kubernetes Job would.
func toStatus(job *api.Job, allocs []*api.AllocationListStub, now time.Time) *backends.Status {
	tg := job.TaskGroups[0]
	st := &backends.Status{
		Name:           deref(job.ID),
		Namespace:      deref(job.Namespace),
		Backend:        Name,
		UID:            strconv.FormatUint(deref(job.CreateIndex), 10), // unique per incarnation of the ID
		Completions:    int32(deref(tg.Count)),
		CompletionMode: string(jobspec.NonIndexed),
		Labels:         labelsOf(job.Meta),
	}
	st.Parallelism = st.Completions
	if p, ok := metaInt(job.Meta, metaParallelism); ok {
		st.Parallelism = int32(p)
	}
	if m, ok := job.Meta[metaMode]; ok {
		st.CompletionMode = m
	}
	if job.SubmitTime != nil {
		t := time.Unix(0, *job.SubmitTime)
		st.CreationTime, st.StartTime = &t, &t
	}
	var deadline *time.Time
	if d, ok := metaInt(job.Meta, metaDeadline); ok && st.StartTime != nil {
		deadline = ptr(st.StartTime.Add(time.Duration(d) * time.Second))
	}

	var tasks []string
	for _, t := range tg.Tasks {
		tasks = append(tasks, t.Name)
	}
	groups := byIndex(allocs, deref(tg.Name))
	var (
		started        bool
		done           []int32 // indexes that succeeded
		exhausted      *indexed
		exhaustedAt    time.Time
		completionTime time.Time
	)
	for _, g := range groups {
		var base int32
		for _, a := range g.allocs {
			atts := allocAttempts(a, tasks)
			for i := range atts {
				atts[i].Index, atts[i].Attempt = ptr(g.index), base+int32(i)
				if atts[i].StartTime != nil {
					started = true
				}
			}
			base += int32(len(atts))
			st.Attempts = append(st.Attempts, atts...)
			switch a.ClientStatus {
			case api.AllocClientStatusPending, api.AllocClientStatusRunning, api.AllocClientStatusUnknown:
				st.Active++
			case api.AllocClientStatusComplete:
				if a.DesiredStatus == api.AllocDesiredStatusRun {
					st.Succeeded++
					done = append(done, g.index)
					if f := atts[len(atts)-1].FinishTime; f != nil && f.After(completionTime) {
						completionTime = *f
					} else if f == nil {
						completionTime = maxTime(completionTime, time.Unix(0, a.ModifyTime))
					}
				}
				started = true
			case api.AllocClientStatusFailed, api.AllocClientStatusLost:
				st.Failed++
				started = true
			}
		}
		newest := g.allocs[len(g.allocs)-1]
		if newest.ClientStatus == api.AllocClientStatusFailed && !rescheduled(newest, tg.ReschedulePolicy, now) && exhausted == nil {
			exhausted, exhaustedAt = g, time.Unix(0, newest.ModifyTime)
			if f := st.Attempts[len(st.Attempts)-1].FinishTime; f != nil {
				exhaustedAt = *f
			}
		}
	}

	if st.CompletionMode == string(jobspec.Indexed) {
		st.CompletedIndexes = backends.FormatIndexes(done)
	}
	before := func(t time.Time) bool { return deadline == nil || !t.After(*deadline) }
	switch {
	case st.Succeeded >= st.Completions && before(completionTime):
		st.Phase = backends.Succeeded
		if !completionTime.IsZero() {
			st.CompletionTime = &completionTime
		} else {
			st.CompletionTime = st.StartTime // nothing to run: done at once
		}
	case exhausted != nil && before(exhaustedAt):
		st.Phase, st.Reason = backends.Failed, backends.ReasonBackoffLimitExceeded
		st.Message = exhaustedMessage(exhausted, st.Attempts)
		st.CompletionTime = &exhaustedAt
	case deadline != nil && !now.Before(*deadline):
		st.Phase, st.Reason = backends.Failed, backends.ReasonDeadlineExceeded
		st.CompletionTime = deadline
		st.Message = fmt.Sprintf("the job was active longer than activeDeadlineSeconds (%s)", deadline.Sub(*st.StartTime))
		if st.Active > 0 {
			st.Message += fmt.Sprintf("; Nomad cannot stop it at the deadline: its allocations (%d active) run until they end or the job is deleted", st.Active)
		}
	case deref(job.Stop):
		st.Phase, st.Reason = backends.Failed, "Stopped"
		st.Message = "the Nomad job was stopped (nomad job stop) before it completed"
		st.CompletionTime = lastChange(allocs, st.StartTime)
	case deref(job.Status) == "dead":
		st.Phase = backends.Failed
		st.Message = fmt.Sprintf("Nomad reports the job dead with %d of %d completions", st.Succeeded, st.Completions)
		st.CompletionTime = lastChange(allocs, st.StartTime)
	case started:
		st.Phase = backends.Running
	default:
		st.Phase = backends.Pending
		if len(allocs) == 0 {
			st.Message = "waiting for Nomad to place the allocations (`batchctl describe` shows placement failures)"
		}
	}
	return st
}

// byIndex groups a task group's allocations by completion index, each
// oldest first (a reschedule is newer than the allocation it replaces).
func byIndex(allocs []*api.AllocationListStub, group string) []*indexed {
	m := map[int32]*indexed{}
	for _, a := range allocs {
		if a.TaskGroup != group {
			continue
		}
		i, ok := allocIndex(a)
		if !ok {
			continue
		}
		if m[i] == nil {
			m[i] = &indexed{index: i}
		}
		m[i].allocs = append(m[i].allocs, a)
	}
	out := make([]*indexed, 0, len(m))
	for _, g := range m {
		sort.Slice(g.allocs, func(x, y int) bool { return g.allocs[x].CreateIndex < g.allocs[y].CreateIndex })
		out = append(out, g)
	}
	sort.Slice(out, func(x, y int) bool { return out[x].index < out[y].index })
	return out
}

// rescheduled applies Nomad's rule (Allocation.RescheduleEligible): a failed
// allocation is replaced while its reschedule events within the interval
// are fewer than the policy's attempts, or always when unlimited.
func rescheduled(a *api.AllocationListStub, rp *api.ReschedulePolicy, now time.Time) bool {
	if rp == nil || a.DesiredStatus != api.AllocDesiredStatusRun {
		return false
	}
	attempts, unlimited := deref(rp.Attempts), deref(rp.Unlimited)
	switch {
	case unlimited:
		return true
	case attempts <= 0:
		return false
	case a.RescheduleTracker == nil:
		return true
	}
	n := 0
	for _, ev := range a.RescheduleTracker.Events {
		if now.Sub(time.Unix(0, ev.RescheduleTime)) < deref(rp.Interval) {
			n++
		}
	}
	return n < attempts
}

func exhaustedMessage(g *indexed, atts []backends.Attempt) string {
	n := 0
	var last *backends.Attempt
	for i := range atts {
		if atts[i].Index != nil && *atts[i].Index == g.index {
			n++
			last = &atts[i]
		}
	}
	msg := fmt.Sprintf("completion index %d failed with no retries left (%d attempts)", g.index, n)
	if n == 1 {
		msg = fmt.Sprintf("completion index %d failed with no retries left (1 attempt)", g.index)
	}
	switch {
	case last != nil && last.ExitCode != nil:
		msg += fmt.Sprintf("; the last, in allocation %s, exited with code %d", last.Pod, *last.ExitCode)
	case last != nil && last.Reason != "":
		msg += fmt.Sprintf("; the last, in allocation %s: %s", last.Pod, last.Reason)
	}
	return msg
}

// lastChange is when an allocation last changed, for a job that ended
// without an outcome of its own.
func lastChange(allocs []*api.AllocationListStub, start *time.Time) *time.Time {
	var t time.Time
	if start != nil {
		t = *start
	}
	for _, a := range allocs {
		t = maxTime(t, time.Unix(0, a.ModifyTime))
	}
	return &t
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
