package nomad

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	if s.job.Periodic != nil { // a CronJob (cron.go): its runs are the jobs
		return nil, &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref,
			Msg: fmt.Sprintf("job %s not found in Nomad namespace %s (%s is a CronJob: cronjob/%s)", ref.Name, ref.Namespace, ref.Name, ref.Name)}
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
func toStatus(job *api.Job, allocs []*api.AllocationListStub, now time.Time) *backends.Status {
	st, _ := assess(job, allocs, now)
	return st
}

// assessment is what assess found besides the status.
type assessment struct {
	// enforce: the Job controller has decided the outcome but Nomad, which
	// does not know the rule that decided it, still runs the job's
	// allocations or will retry them: a watching batchctl stops the Nomad
	// job, as Kubernetes stops a finished job's pods.
	enforce bool
	// events are the Job controller's about the job (its verdict).
	events []backends.Event
	// verdict is the Job controller's message, before what Nomad does.
	verdict string
}

// assess normalizes a Nomad job and its allocations at time now.
// CompletionTime is when the job finished, Succeeded or Failed.
//
// Allocations are pods, and what each of their tasks did (attempts) is the
// pod history: the phase, reason and message, the succeeded and failed
// counts and the completed and failed indexes are the Job controller's
// verdict on that history (see judge.go), so that batchctl never reports an
// outcome Kubernetes would not have reported for it, although Nomad applies
// none of the controller's rules itself. Active counts the allocations
// Nomad runs. Where Nomad has stopped for good while the controller still
// wants a pod (an index with no reschedule left, the Nomad job stopped or
// dead), the job is Failed as Nomad ended it, and the message says so.
func assess(job *api.Job, allocs []*api.AllocationListStub, now time.Time) (*backends.Status, assessment) {
	var as assessment
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
	if created := createdTime(job, allocs); !created.IsZero() {
		st.CreationTime, st.StartTime = ptr(created), ptr(created)
	}

	var tasks []string
	for _, t := range tg.Tasks {
		tasks = append(tasks, t.Name)
	}
	inits := initTasks(tg)
	groups := byIndex(allocs, deref(tg.Name))
	started := false
	for _, g := range groups {
		var base int32
		for _, a := range g.allocs {
			atts := allocAttempts(a, tasks, inits)
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
			case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
				started = true
			}
		}
	}

	created := now
	if st.StartTime != nil {
		created = *st.StartTime
	}
	v, err := judge(job, groups, tasks, created, now)
	if err != nil {
		// Only a job batchctl cannot have written gets here.
		st.Phase, st.Reason = backends.Failed, "Unjudged"
		st.Message = "batchctl cannot read this Nomad job as a Kubernetes Job: " + err.Error()
		st.CompletionTime = lastChange(allocs, st.StartTime)
		return st, as
	}
	as.events = v.events
	js := v.status
	st.Succeeded, st.Failed = js.Succeeded, js.Failed
	if st.CompletionMode == string(jobspec.Indexed) {
		st.CompletedIndexes, st.FailedIndexes = js.CompletedIndexes, js.FailedIndexes
	}
	rp := tg.ReschedulePolicy
	nomadRuns := false // Nomad runs an allocation or will place one
	for i := int32(0); i < st.Completions; i++ {
		nomadRuns = nomadRuns || willRun(job, findIndex(groups, i), rp, now)
	}
	gaveUp := givenUp(job, groups, v.wanting, rp, now)
	switch {
	case js.Phase.Terminal():
		st.Phase, st.Reason, st.Message = js.Phase, js.Reason, js.Message
		st.CompletionTime = js.CompletionTime
		as.verdict = js.Message
		switch {
		case deref(job.Stop):
			st.Message = joinMessage(st.Message, stoppedNote)
		case nomadRuns:
			as.enforce = true
			st.Message = joinMessage(st.Message, fmt.Sprintf("Nomad does not apply this rule and still runs or will retry the job's allocations (%d active) until the Nomad job is stopped: batchctl stops it while it watches (wait, submit --wait, logs -f); `batchctl delete` removes it", st.Active))
		}
		st.Active = 0 // Kubernetes counts the pods it stops as terminating, not active
	case deref(job.Stop):
		st.Phase, st.Reason = backends.Failed, "Stopped"
		st.Message = "the Nomad job was stopped (nomad job stop) before it completed"
		st.CompletionTime = lastChange(allocs, st.StartTime)
	case gaveUp != nil:
		st.Phase, st.Reason = backends.Failed, reasonRetriesExhausted
		st.Message, st.CompletionTime = gaveUpMessage(st.Attempts, v.wanting), gaveUp
	case deref(job.Status) == "dead" && !nomadRuns:
		st.Phase = backends.Failed
		st.Message = fmt.Sprintf("Nomad reports the job dead with %d of %d completions, where Kubernetes would still run pods", st.Succeeded, st.Completions)
		st.CompletionTime = lastChange(allocs, st.StartTime)
	case started:
		st.Phase = backends.Running
	default:
		st.Phase = backends.Pending
		if len(allocs) == 0 {
			st.Message = "waiting for Nomad to place the allocations (`batchctl describe` shows placement failures)"
		}
	}
	return st, as
}

// stoppedNote ends the message of a finished job whose Nomad job is stopped.
const stoppedNote = "the Nomad job is stopped"

func joinMessage(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func findIndex(groups []*indexed, i int32) *indexed {
	for _, g := range groups {
		if g.index == i {
			return g
		}
	}
	return nil
}

// willRun reports whether Nomad runs an allocation of index g, or will
// place one: none placed yet, the newest one pending or running, failed
// with a reschedule left, lost (replaced), or stopped by Nomad while the
// job was not (migrated). Nomad's job status is not asked: it reads "dead"
// for a moment between a failure and the reschedule Nomad then plans.
func willRun(job *api.Job, g *indexed, rp *api.ReschedulePolicy, now time.Time) bool {
	if deref(job.Stop) {
		return false
	}
	if g == nil || len(g.allocs) == 0 {
		return true
	}
	newest := g.allocs[len(g.allocs)-1]
	status := newest.ClientStatus
	if status == api.AllocClientStatusPending || status == api.AllocClientStatusRunning {
		status = settled(newest, job.TaskGroups[0])
	}
	switch status {
	case api.AllocClientStatusFailed:
		return rescheduled(newest, rp, now)
	case api.AllocClientStatusComplete:
		return newest.DesiredStatus != api.AllocDesiredStatusRun && newest.NextAllocation == ""
	}
	return true
}

// settled is the status Nomad is about to give a running allocation whose
// tasks have all ended for good (its task events come before its status):
// failed once a task failed with no restart left, complete once every task
// exited 0; else its own status.
func settled(a *api.AllocationListStub, tg *api.TaskGroup) string {
	restarts, forever := 0, false
	if rp := tg.RestartPolicy; rp != nil {
		restarts, forever = deref(rp.Attempts), deref(rp.Mode) == api.RestartPolicyModeDelay
	}
	done := true
	for _, t := range tg.Tasks {
		ts := a.TaskStates[t.Name]
		runs := taskRuns(ts)
		if len(runs) == 0 {
			done = false
			continue
		}
		switch last := runs[len(runs)-1]; {
		case last.phase == phaseFailed && !forever && int(ts.Restarts) >= restarts:
			return api.AllocClientStatusFailed
		case last.phase != phaseSucceeded:
			done = false
		}
	}
	if done {
		return api.AllocClientStatusComplete
	}
	return a.ClientStatus
}

// givenUp: the Job controller still wants a pod for an index but Nomad
// will run nothing more for the job, so the verdict can no longer come.
// It returns when Nomad ended the job (the last attempt's end); nil when
// Nomad still runs or will place an allocation, or nothing is wanted.
func givenUp(job *api.Job, groups []*indexed, wanting []int32, rp *api.ReschedulePolicy, now time.Time) *time.Time {
	if len(wanting) == 0 || deref(job.Stop) {
		return nil
	}
	count := int32(deref(job.TaskGroups[0].Count))
	var allocs []*api.AllocationListStub
	for i := int32(0); i < count; i++ {
		g := findIndex(groups, i)
		if willRun(job, g, rp, now) {
			return nil
		}
		if g != nil {
			allocs = append(allocs, g.allocs...)
		}
	}
	return lastChange(allocs, nil)
}

// gaveUpMessage says that Nomad, not the Job controller, ended the job,
// for the indexes the controller still wants (-1: NonIndexed).
func gaveUpMessage(atts []backends.Attempt, wanting []int32) string {
	what := "the job's allocations"
	if !slices.Contains(wanting, -1) {
		var ix []string
		for _, i := range wanting {
			ix = append(ix, strconv.Itoa(int(i)))
		}
		what = plural(len(ix), "completion index ", "completion indexes ") + strings.Join(ix, ", ")
	}
	n := 0
	var last *backends.Attempt
	for i := range atts {
		a := &atts[i]
		if a.Index == nil || (!slices.Contains(wanting, -1) && !slices.Contains(wanting, *a.Index)) {
			continue
		}
		n++
		if last == nil || (a.FinishTime != nil && (last.FinishTime == nil || a.FinishTime.After(*last.FinishTime))) {
			last = a
		}
	}
	msg := fmt.Sprintf("Nomad has no retry left for %s (%d %s), where Kubernetes would create another pod: the job ended as Nomad ended it",
		what, n, plural(n, "attempt", "attempts"))
	switch {
	case last != nil && last.ExitCode != nil:
		msg += fmt.Sprintf("; the last attempt, in allocation %s, exited with code %d", last.Pod, *last.ExitCode)
	case last != nil && last.Reason != "":
		msg += fmt.Sprintf("; the last attempt, in allocation %s: %s", last.Pod, last.Reason)
	}
	return msg
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
