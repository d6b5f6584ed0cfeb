package nomad

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller"
	"github.com/batchctl/batchctl/jobspec"
)

// The judge: Nomad enforces none of the Job controller's own rules
// (podFailurePolicy, successPolicy, backoffLimitPerIndex and
// maxFailedIndexes, a job-wide backoffLimit, the job's deadline), so the
// outcome batchctl reports is not read off Nomad's job status. It is what the
// Kubernetes Job controller decides for the same pod history: the
// allocations' attempts are replayed, in time order, into the Job
// controller's state machine (backends/jobcontroller), and its verdict is
// the status.
//
// The replay: the machine starts as the job's controller at the job's
// creation; each pod it creates is bound to the next allocation Nomad made
// for that completion index (NonIndexed: the next of any index), oldest
// first; each container it starts is fed that task's run in that
// allocation (its start, then its exit with its code), at the time Nomad
// recorded, or when the machine asked for it if that is later (Nomad ran
// allocations the controller would have run one after another, with
// parallelism, or init containers side by side). Backoff delays are off:
// Nomad decided the timing. Allocations the controller would not have
// created (after its verdict, or for an index it no longer runs) are not
// part of the history it judges. Lost allocations are pods deleted by the
// pod GC, allocations Nomad stopped or preempted while the job was not
// stopped are evicted pods (condition DisruptionTarget, as Kubernetes
// records it), so that podFailurePolicy's onPodConditions rules see what
// Kubernetes would. Once the Nomad job is stopped, what Nomad killed is not
// the pods' own history and is left out.

// Meta keys the judge reads: the Job controller's part of the manifest, and
// when Submit created the job (Nomad's SubmitTime moves when the job is
// stopped).
const (
	metaController = metaPrefix + "job-controller"
	metaCreated    = metaPrefix + "created"
)

// reasonRetriesExhausted: Nomad ended the job (no reschedule or restart left
// for an index) where the Job controller would have created another pod.
const reasonRetriesExhausted = "RetriesExhausted"

// controllerJob is the part of the manifest the judge replays: the Job
// controller's fields and, of the pod template, what the controller and
// the kubelet decide by (restart policy, grace period, container names).
// What Nomad runs differently is written as Nomad runs it: a work queue as
// one completion, and no pod deadline (Nomad cannot enforce one).
func controllerJob(job *jobspec.Job) *batchv1.Job {
	out := &batchv1.Job{}
	o := &out.Spec
	if job.Object == nil {
		o.Completions, o.Parallelism = ptr(job.Completions), ptr(job.Parallelism)
		o.CompletionMode = ptr(batchv1.CompletionMode(mode(job)))
		o.BackoffLimit, o.ActiveDeadlineSeconds = ptr(job.BackoffLimit), job.ActiveDeadlineSeconds
		o.Template.Spec.RestartPolicy = corev1.RestartPolicy(restartPolicy(job))
		for _, c := range job.Template.InitContainers {
			o.Template.Spec.InitContainers = append(o.Template.Spec.InitContainers, corev1.Container{Name: c.Name})
		}
		for _, c := range job.Template.Containers {
			o.Template.Spec.Containers = append(o.Template.Spec.Containers, corev1.Container{Name: c.Name})
		}
		return out
	}
	s := &job.Object.Spec
	o.Completions, o.Parallelism, o.CompletionMode = s.Completions, s.Parallelism, s.CompletionMode
	if job.WorkQueue {
		o.Completions, o.Parallelism = ptr[int32](1), ptr[int32](1)
	}
	o.BackoffLimit, o.BackoffLimitPerIndex, o.MaxFailedIndexes = s.BackoffLimit, s.BackoffLimitPerIndex, s.MaxFailedIndexes
	o.PodFailurePolicy, o.SuccessPolicy = s.PodFailurePolicy, s.SuccessPolicy
	o.ActiveDeadlineSeconds, o.PodReplacementPolicy = s.ActiveDeadlineSeconds, s.PodReplacementPolicy
	ps := &s.Template.Spec
	o.Template.Spec.RestartPolicy = ps.RestartPolicy
	o.Template.Spec.TerminationGracePeriodSeconds = ps.TerminationGracePeriodSeconds
	for _, c := range ps.InitContainers {
		o.Template.Spec.InitContainers = append(o.Template.Spec.InitContainers, corev1.Container{Name: c.Name})
	}
	for _, c := range ps.Containers {
		o.Template.Spec.Containers = append(o.Template.Spec.Containers, corev1.Container{Name: c.Name})
	}
	return out
}

// encodeController writes j as compact JSON without empty members.
func encodeController(j *batchv1.Job) (string, error) {
	raw, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := prune(dec, &buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// judgedJob is the Job the judge replays for a Nomad job: the manifest's,
// from the job's meta, or, for a job an older batchctl submitted, what the
// Nomad job itself says (count, retry blocks, tasks).
func judgedJob(job *api.Job) *batchv1.Job {
	var j *batchv1.Job
	if s, ok := job.Meta[metaController]; ok {
		var decoded batchv1.Job
		if json.Unmarshal([]byte(s), &decoded) == nil && len(decoded.Spec.Template.Spec.Containers) > 0 {
			j = &decoded
		}
	}
	if j == nil {
		j = derivedJob(job)
	}
	j.Name, j.Namespace = deref(job.ID), deref(job.Namespace)
	// The machine must not wait on what it cannot see: the count is the
	// group's, whatever the meta says.
	if count := int32(deref(job.TaskGroups[0].Count)); j.Spec.Completions == nil || *j.Spec.Completions != count {
		j.Spec.Completions = &count
	}
	return j
}

// derivedJob reads a Job back from a Nomad job batchctl translated.
func derivedJob(job *api.Job) *batchv1.Job {
	tg := job.TaskGroups[0]
	out := &batchv1.Job{}
	s := &out.Spec
	count := int32(deref(tg.Count))
	s.Completions, s.Parallelism = &count, &count
	if p, ok := metaInt(job.Meta, metaParallelism); ok {
		s.Parallelism = ptr(int32(p))
	}
	if m := job.Meta[metaMode]; m == string(jobspec.Indexed) {
		s.CompletionMode = ptr(batchv1.IndexedCompletion)
	}
	if d, ok := metaInt(job.Meta, metaDeadline); ok {
		s.ActiveDeadlineSeconds = &d
	}
	limit := int32(0)
	s.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if rp := tg.RestartPolicy; rp != nil && deref(rp.Attempts) > 0 {
		s.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		limit = int32(min(deref(rp.Attempts), math.MaxInt32))
	} else if rp := tg.ReschedulePolicy; rp != nil {
		limit = int32(min(deref(rp.Attempts), math.MaxInt32))
		if deref(rp.Unlimited) {
			limit = math.MaxInt32
		}
	}
	s.BackoffLimit = &limit
	for _, t := range tg.Tasks {
		c := corev1.Container{Name: t.Name}
		if t.Lifecycle != nil && t.Lifecycle.Hook == api.TaskLifecycleHookPrestart && !t.Lifecycle.Sidecar {
			s.Template.Spec.InitContainers = append(s.Template.Spec.InitContainers, c)
		} else {
			s.Template.Spec.Containers = append(s.Template.Spec.Containers, c)
		}
	}
	if len(s.Template.Spec.Containers) == 0 { // only prestart tasks: run them as containers
		s.Template.Spec.Containers, s.Template.Spec.InitContainers = s.Template.Spec.InitContainers, nil
	}
	return out
}

// createdTime is when the job was created: what Submit recorded, else
// Nomad's SubmitTime while the job was never updated (stopping it moves
// SubmitTime), else the earliest of SubmitTime and its allocations.
func createdTime(job *api.Job, allocs []*api.AllocationListStub) time.Time {
	if s, ok := job.Meta[metaCreated]; ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	var t time.Time
	if job.SubmitTime != nil {
		t = time.Unix(0, *job.SubmitTime)
	}
	if deref(job.Version) == 0 && !deref(job.Stop) && !t.IsZero() {
		return t
	}
	for _, a := range allocs {
		if c := time.Unix(0, a.CreateTime); a.CreateTime > 0 && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	return t
}

// judgement is the Job controller's reading of a Nomad job's history.
type judgement struct {
	status backends.Status  // the machine's normalized status
	events []backends.Event // the machine's events about the job itself
	// wanting: the completion indexes (-1: NonIndexed) of pods the
	// controller wants for which Nomad has made no allocation (yet).
	wanting []int32
}

// judge replays the allocations of groups (by index, oldest first) into
// the Job controller's state machine and returns its verdict at now.
func judge(job *api.Job, groups []*indexed, tasks []string, created, now time.Time) (*judgement, error) {
	spec := judgedJob(job)
	r := &replay{pods: map[string]*podRec{}, stopped: deref(job.Stop), tasks: tasks, wants: map[int32]bool{}}
	count := *spec.Spec.Completions
	horizon := now
	for _, g := range groups {
		if g.index >= count {
			continue
		}
		for _, a := range g.allocs {
			rec := history(a, tasks, r.stopped)
			r.recs = append(r.recs, rec)
			horizon = later(horizon, rec.latest)
		}
	}
	// Binding order: the order Nomad created them, then by index.
	slices.SortStableFunc(r.recs, func(x, y *allocRec) int {
		if x.a.CreateIndex != y.a.CreateIndex {
			return cmpU(x.a.CreateIndex, y.a.CreateIndex)
		}
		return int(x.index) - int(y.index)
	})
	m, err := jobcontroller.New(spec, jobcontroller.Options{
		PodBackoff: jobcontroller.NoDelay, PodBackoffCap: jobcontroller.NoDelay,
		RestartBackoff: jobcontroller.NoDelay, RestartBackoffCap: jobcontroller.NoDelay,
		RestartBackoffReset: jobcontroller.NoDelay,
		NamePod:             r.namePod,
		HoldPod:             r.holdPod,
	}, created)
	if err != nil {
		return nil, err
	}
	r.m, r.now = m, created
	r.run(horizon)

	j := &judgement{status: m.NormalizedSummary()}
	for _, e := range m.EventsSince(0) {
		if strings.HasPrefix(e.Object, "Job/") && e.Reason != "SuccessfulCreate" && e.Reason != "SuccessfulDelete" {
			j.events = append(j.events, e)
		}
	}
	for _, p := range r.order {
		if p.alloc == nil && !p.ended {
			j.wanting = append(j.wanting, p.index)
		}
	}
	for ix := range r.wants {
		if !slices.Contains(j.wanting, ix) {
			j.wanting = append(j.wanting, ix)
		}
	}
	slices.Sort(j.wanting)
	return j, nil
}

// allocRec is one allocation's history as the replay feeds it.
type allocRec struct {
	a     *api.AllocationListStub
	index int32
	runs  map[string][]run // by task, oldest first; each run with its times
	// kill is when Nomad began stopping the allocation (not for a failure
	// of its own): its first Killing event, or its last change when it
	// never ran. Zero: Nomad did not stop it.
	kill time.Time
	// cut: events from then on are left out (the Nomad job was stopped).
	cut time.Time
	// end is when the allocation ended; zero while it runs.
	end    time.Time
	latest time.Time // its latest recorded event
	bound  bool
}

// history reads an allocation's runs and ends. Runs whose events the
// client dropped (it keeps a task's last ten) are put at the first event
// kept, failed with code 1: under restart mode fail only a failure
// restarts a task.
func history(a *api.AllocationListStub, tasks []string, jobStopped bool) *allocRec {
	rec := &allocRec{a: a, runs: map[string][]run{}}
	rec.index, _ = allocIndex(a)
	stopped := a.DesiredStatus != api.AllocDesiredStatusRun
	first, started := time.Time{}, false
	for _, name := range tasks {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		for _, e := range ts.Events {
			t := time.Unix(0, e.Time)
			if first.IsZero() || t.Before(first) {
				first = t
			}
			rec.latest = later(rec.latest, t)
			// A Killing event of an allocation that is to run is Nomad
			// stopping the siblings of a task that failed: its own end.
			if e.Type == api.TaskKilling && stopped && (rec.kill.IsZero() || t.Before(rec.kill)) {
				rec.kill = t
			}
			if e.Type == api.TaskStarted {
				started = true
			}
		}
	}
	if first.IsZero() {
		first = time.Unix(0, a.CreateTime)
	}
	for _, name := range tasks {
		runs := taskRuns(a.TaskStates[name])
		for i := range runs {
			rn := &runs[i]
			if rn.phase == phaseFailed && rn.start == nil && rn.finish == nil && rn.exit == nil {
				rn.start, rn.finish, rn.exit = &first, &first, ptr[int32](1)
			}
		}
		rec.runs[name] = runs
	}
	modified := time.Unix(0, a.ModifyTime)
	if stopped && rec.kill.IsZero() && !started {
		rec.kill = modified // stopped before it ran
	}
	switch a.ClientStatus {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed:
		rec.end = rec.latest
		if rec.end.IsZero() {
			rec.end = modified
		}
	case api.AllocClientStatusLost:
		rec.end = later(modified, rec.latest)
	}
	if jobStopped && !rec.kill.IsZero() {
		rec.cut = rec.kill
	}
	rec.latest = later(rec.latest, rec.end)
	return rec
}

// podRec is one pod of the machine and the allocation bound to it.
type podRec struct {
	name     string
	index    int32
	alloc    *allocRec // nil: Nomad ran no allocation for it
	inflight int       // its steps still queued
	last     time.Time // its latest queued step
	running  map[string]bool
	// detached: the machine stopped the pod where Nomad did not; Nomad's
	// later events are no longer the pod's.
	detached  bool
	disrupted bool
	ended     bool // PodTerminated sent (or the pod GC took it)
}

// replay feeds a machine an allocation history.
type replay struct {
	m       *jobcontroller.Machine
	tasks   []string
	stopped bool // the Nomad job is stopped
	recs    []*allocRec
	binds   []*allocRec // namePod's choices not yet created, in order
	pods    map[string]*podRec
	order   []*podRec
	queue   steps
	seq     int
	now     time.Time
	// wants: the indexes of pods the controller wants to create once the
	// history is played, for which Nomad made no allocation.
	wants map[int32]bool
	// byIndex: recs by index (-1: all), with how far next has looked.
	byIndex map[int32][]*allocRec
	cursor  map[int32]int
}

type step struct {
	at   time.Time
	seq  int
	pod  *podRec
	real bool // from Nomad's history: dropped once the pod is detached
	fn   func()
}

type steps []*step

func (s steps) Len() int { return len(s) }
func (s steps) Less(i, j int) bool {
	if !s[i].at.Equal(s[j].at) {
		return s[i].at.Before(s[j].at)
	}
	return s[i].seq < s[j].seq
}
func (s steps) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *steps) Push(x any)   { *s = append(*s, x.(*step)) }
func (s *steps) Pop() any {
	old := *s
	x := old[len(old)-1]
	*s = old[:len(old)-1]
	return x
}

func (r *replay) at(p *podRec, t time.Time, real bool, fn func()) {
	t = later(t, r.now)
	heap.Push(&r.queue, &step{at: t, seq: r.seq, pod: p, real: real, fn: fn})
	r.seq++
	p.inflight++
	p.last = later(p.last, t)
}

// next is the oldest allocation of index (NonIndexed: of any) not bound.
// Bound ones stay bound, so each list is scanned once.
func (r *replay) next(index int32) *allocRec {
	if r.byIndex == nil {
		r.byIndex, r.cursor = map[int32][]*allocRec{}, map[int32]int{}
		for _, rec := range r.recs {
			r.byIndex[rec.index] = append(r.byIndex[rec.index], rec)
		}
		r.byIndex[-1] = r.recs
	}
	recs := r.byIndex[index]
	if index < 0 {
		recs = r.recs
	}
	i := r.cursor[index]
	for i < len(recs) && recs[i].bound {
		i++
	}
	r.cursor[index] = i
	if i == len(recs) {
		return nil
	}
	return recs[i]
}

// holdPod holds the creation of a pod until Nomad created its
// allocation: Kubernetes has no pod where Nomad had none (a pod waiting for
// its allocation would count as failed if the job failed meanwhile). With
// no allocation left for it, the pod is wanted but never created.
func (r *replay) holdPod(index int32, now time.Time) (time.Time, bool) {
	rec := r.next(index)
	if rec == nil {
		r.wants[index] = true
		return time.Time{}, true
	}
	if created := time.Unix(0, rec.a.CreateTime); rec.a.CreateTime > 0 && created.After(now) {
		return created, true
	}
	return time.Time{}, false
}

// namePod binds a new pod of index to the oldest allocation not bound yet
// (of that index, for Indexed jobs) and names it as batchctl names the
// allocation (its short ID).
func (r *replay) namePod(index int32) string {
	if rec := r.next(index); rec != nil {
		rec.bound = true
		r.binds = append(r.binds, rec)
		return shortID(rec.a.ID)
	}
	r.binds = append(r.binds, nil)
	if index < 0 {
		return "unplaced"
	}
	return fmt.Sprintf("unplaced-%d", index)
}

// maxSteps bounds a replay (a runaway would be a bug in the machine).
const maxSteps = 1_000_000

// run plays the queued history and the machine's timers up to horizon, or
// until the machine has its verdict.
func (r *replay) run(horizon time.Time) {
	var lastTick time.Time
	for range maxSteps {
		r.drain()
		if r.m.Finished() {
			return
		}
		t, timer := r.m.NextTimer()
		timer = timer && !t.After(horizon) && !t.Equal(lastTick)
		switch {
		case len(r.queue) > 0 && (!timer || !t.Before(r.queue[0].at)):
			s := heap.Pop(&r.queue).(*step)
			s.pod.inflight--
			if s.real && s.pod.detached {
				continue
			}
			r.now = later(r.now, s.at)
			s.fn()
		case timer:
			r.now, lastTick = later(r.now, t), t
			r.m.Tick(r.now)
		default:
			// What the controller wants now that the history is played.
			clear(r.wants)
			r.m.Tick(r.now)
			r.drain()
			return
		}
	}
}

// drain carries out the machine's actions until it has none left.
func (r *replay) drain() {
	for {
		acts := r.m.TakeActions()
		if len(acts) == 0 {
			return
		}
		for _, a := range acts {
			r.apply(a)
		}
	}
}

func (r *replay) apply(a jobcontroller.Action) {
	switch a := a.(type) {
	case jobcontroller.CreatePod:
		var rec *allocRec
		if len(r.binds) > 0 {
			rec, r.binds = r.binds[0], r.binds[1:]
		}
		p := &podRec{name: a.Pod, index: -1, alloc: rec, running: map[string]bool{}}
		if a.Index != nil {
			p.index = *a.Index
		}
		r.pods[a.Pod] = p
		r.order = append(r.order, p)
		if rec != nil {
			r.allocSteps(p)
		}
	case jobcontroller.StartContainer:
		r.startContainer(r.pods[a.Pod], a)
	case jobcontroller.StopPod:
		r.stopPod(r.pods[a.Pod])
	}
}

// allocSteps queues what happened to p's allocation as a whole: lost (the
// pod GC's deletion), stopped or preempted by Nomad (an eviction), ended.
func (r *replay) allocSteps(p *podRec) {
	rec := p.alloc
	switch {
	case rec.a.ClientStatus == api.AllocClientStatusLost:
		r.at(p, rec.end, true, func() { r.disrupt(p, "DeletionByPodGC") })
		return
	case !rec.cut.IsZero():
		return // the Nomad job was stopped: what follows is not the pod's
	case !rec.kill.IsZero():
		reason := "EvictionByEvictionAPI"
		if rec.a.DesiredStatus == api.AllocDesiredStatusEvict {
			reason = "PreemptionByScheduler"
		}
		r.at(p, rec.kill, true, func() { r.disrupt(p, reason) })
	}
	if !rec.end.IsZero() {
		r.at(p, rec.end, true, func() { r.allocEnded(p) })
	}
}

func (r *replay) disrupt(p *podRec, reason string) {
	p.disrupted = true
	if reason == "DeletionByPodGC" {
		p.ended = true
	}
	r.m.PodDisrupted(p.name, reason, r.now)
}

// allocEnded: nothing runs in the allocation any more; once every run the
// machine asked for has been fed, the pod is over.
func (r *replay) allocEnded(p *podRec) {
	if p.inflight > 0 {
		r.at(p, p.last, true, func() { r.allocEnded(p) })
		return
	}
	p.ended = true
	r.m.PodTerminated(p.name, r.now)
}

// startContainer feeds the run of the task that the machine starts: its
// start and its exit, at their recorded times (or now, if later).
func (r *replay) startContainer(p *podRec, sc jobcontroller.StartContainer) {
	if p == nil || p.alloc == nil || p.detached {
		return
	}
	runs := p.alloc.runs[sc.Container]
	if int(sc.Restart) >= len(runs) {
		return // not run (yet)
	}
	rn := runs[sc.Restart]
	cut := p.alloc.cut
	before := func(t *time.Time) bool { return t != nil && (cut.IsZero() || t.Before(cut)) }
	name, begin := sc.Container, r.now
	if rn.start != nil {
		if !before(rn.start) {
			return
		}
		begin = later(*rn.start, r.now)
		r.at(p, begin, true, func() {
			p.running[name] = true
			r.m.ContainerStarted(p.name, name, r.now)
		})
	}
	exit, ended := runExit(rn)
	if !ended || !before(rn.finish) {
		return
	}
	r.at(p, later(*rn.finish, begin), true, func() {
		delete(p.running, name)
		r.m.ContainerExited(p.name, name, exit, r.now)
	})
}

// runExit is how a run ended, as the kubelet reports it.
func runExit(rn run) (jobcontroller.Exit, bool) {
	if rn.finish == nil {
		return jobcontroller.Exit{}, false
	}
	var e jobcontroller.Exit
	switch {
	case rn.exit != nil:
		e.Code = *rn.exit
	case rn.phase == phaseFailed: // killed without an exit status
		e.Code = 137
	default:
		return e, false
	}
	if rn.reason == "OOMKilled" || rn.reason == "StartError" {
		e.Reason = rn.reason
	}
	return e, true
}

// stopPod: the machine stops p. When Nomad stopped the allocation too (an
// eviction that ended), its own events end the pod; otherwise Nomad knows
// nothing of this stop, and the pod ends as Kubernetes would end it:
// SIGTERM (143) to what runs, at once.
func (r *replay) stopPod(p *podRec) {
	if p == nil || p.ended || p.detached {
		return
	}
	if p.disrupted && p.alloc != nil && !p.alloc.end.IsZero() {
		return
	}
	p.detached = true
	r.at(p, r.now, false, func() {
		for _, c := range slices.Sorted(maps.Keys(p.running)) {
			r.m.ContainerExited(p.name, c, jobcontroller.Exit{Code: 143}, r.now)
		}
		clear(p.running)
		p.ended = true
		r.m.PodTerminated(p.name, r.now)
	})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
