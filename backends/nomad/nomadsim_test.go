package nomad

import (
	"container/heap"
	"fmt"
	"io"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/jobspec"
)

// nomadSim plays a scenario of the Job controller corpus
// (testdata/jobcontroller) the way Nomad runs the job batchctl translates:
// every allocation at once (Nomad has no parallelism), prestart tasks side
// by side and the main tasks once they all succeeded, a failed task
// restarted in place (OnFailure) or its allocation failed, its siblings
// killed, and rescheduled after an exponential delay (Never), each index up
// to the reschedule block's attempts; a pod the node evicts is an
// allocation lost with its node, which Nomad replaces. Each container start
// behaves as the scenario says (its start counted per index and container,
// NonIndexed: per container in the whole job, in time order). The result
// is the allocation history a Nomad agent would report.
//
// With watch, batchctl watches: after every change the status is assessed
// and, when the Job controller's verdict is one Nomad does not reach, the
// Nomad job is stopped as Watch stops it (its running tasks killed, no more
// restarts or reschedules).
type nomadSim struct {
	sc    *scenario.Scenario
	job   *api.Job
	watch bool
	t0    time.Time
	now   time.Time
	queue simQueue
	seq   int

	allocs []*simAlloc
	starts map[string]int // by index key and container
	inits  []string
	mains  []string

	onFailure            bool
	restarts, reschedule int
	unlimited            bool
	restartDelay         time.Duration
	reschedDelay, cap    time.Duration
	stopped              time.Time // when the watcher stopped the Nomad job
	creates              uint64
}

type simAlloc struct {
	stub    *api.AllocationListStub
	index   int32
	tasks   map[string]*simTask
	resch   int // reschedules before this allocation
	done    bool
	mainsUp bool
}

type simTask struct {
	name  string
	init  bool
	state *api.TaskState
	gen   int  // bumped when the task is stopped: its pending exit is void
	ok    bool // exited 0
	up    bool // running
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

type simQueue []*simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(*simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// simBackend translates as the nomad backend does, with Kubernetes' first
// delay (10 s) and a 10 min ceiling.
func simBackend(t *testing.T) *backend {
	t.Helper()
	b, err := Open(Options{Addr: "http://127.0.0.1:1", Driver: driverRawExec, Backoff: 10 * time.Second, BackoffCap: 10 * time.Minute}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return b.(*backend)
}

// nomadJob is job as the Nomad API returns it once registered at t0.
func nomadJob(t *testing.T, job *jobspec.Job, t0 time.Time) *api.Job {
	t.Helper()
	id := job.Name
	nj, _, err := simBackend(t).translate(job, id, "render")
	if err != nil {
		t.Fatal(err)
	}
	nj.Namespace, nj.Status, nj.Stop = ptr("default"), ptr("running"), ptr(false)
	nj.CreateIndex, nj.Version, nj.SubmitTime = ptr[uint64](11), ptr[uint64](0), ptr(t0.UnixNano())
	nj.Meta[metaCreated] = t0.Format(time.RFC3339Nano) // as Submit writes it
	return nj
}

func newNomadSim(t *testing.T, sc *scenario.Scenario, watch bool) *nomadSim {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := &nomadSim{sc: sc, job: nomadJob(t, sc.Job(), t0), watch: watch, t0: t0, now: t0, starts: map[string]int{}}
	tg := s.job.TaskGroups[0]
	for _, task := range tg.Tasks {
		if task.Lifecycle != nil {
			s.inits = append(s.inits, task.Name)
		} else {
			s.mains = append(s.mains, task.Name)
		}
	}
	s.onFailure = deref(tg.RestartPolicy.Mode) == api.RestartPolicyModeDelay || deref(tg.RestartPolicy.Attempts) > 0
	s.restarts, s.restartDelay = deref(tg.RestartPolicy.Attempts), deref(tg.RestartPolicy.Delay)
	if deref(tg.RestartPolicy.Mode) == api.RestartPolicyModeDelay {
		s.restarts = 1 << 30
	}
	rp := tg.ReschedulePolicy
	s.reschedule, s.unlimited = deref(rp.Attempts), deref(rp.Unlimited)
	s.reschedDelay, s.cap = deref(rp.Delay), deref(rp.MaxDelay)
	return s
}

func (s *nomadSim) at(t time.Time, fn func()) {
	heap.Push(&s.queue, &simEvent{at: t, seq: s.seq, fn: fn})
	s.seq++
}

func (s *nomadSim) event(a *simAlloc, task *simTask, typ string, details ...string) {
	e := &api.TaskEvent{Type: typ, Time: s.now.UnixNano(), Details: map[string]string{}}
	for i := 0; i+1 < len(details); i += 2 {
		e.Details[details[i]] = details[i+1]
	}
	task.state.Events = append(task.state.Events, e)
	a.stub.ModifyTime = s.now.UnixNano()
}

// run plays the job until nothing is left to happen (or two simulated
// hours, for containers that hang), and returns the history.
func (s *nomadSim) run() []*api.AllocationListStub {
	count := deref(s.job.TaskGroups[0].Count)
	for i := range count {
		s.place(int32(i), 0, s.t0.Add(100*time.Millisecond))
	}
	limit := s.t0.Add(2 * time.Hour)
	if d, ok := metaInt(s.job.Meta, metaDeadline); ok {
		s.at(s.t0.Add(time.Duration(d)*time.Second), func() {}) // a watcher wakes at the deadline
	}
	for len(s.queue) > 0 {
		e := heap.Pop(&s.queue).(*simEvent)
		if e.at.After(limit) {
			break
		}
		s.now = e.at
		e.fn()
		if s.watch && s.stopped.IsZero() {
			if _, as := assess(s.job, s.stubs(), s.now); as.enforce {
				s.stop()
			}
		}
	}
	dead := true
	for _, a := range s.allocs {
		dead = dead && a.done
	}
	if dead && len(s.queue) == 0 {
		s.job.Status = ptr("dead")
	} else {
		s.now = limit // something hangs: look two hours on
	}
	return s.stubs()
}

func (s *nomadSim) stubs() []*api.AllocationListStub {
	out := make([]*api.AllocationListStub, len(s.allocs))
	for i, a := range s.allocs {
		out[i] = a.stub
	}
	return out
}

// place creates the allocation of index (its resch-th reschedule) at t.
func (s *nomadSim) place(index int32, resch int, t time.Time) {
	s.at(t, func() {
		if !s.stopped.IsZero() {
			return
		}
		s.creates++
		a := &simAlloc{index: index, resch: resch, tasks: map[string]*simTask{}, stub: &api.AllocationListStub{
			ID: fmt.Sprintf("%08x-0000-4000-8000-%012d", s.creates, s.creates), Name: fmt.Sprintf("%s.%s[%d]", deref(s.job.ID), groupName, index),
			TaskGroup: groupName, ClientStatus: api.AllocClientStatusPending, DesiredStatus: api.AllocDesiredStatusRun,
			CreateIndex: 100 + s.creates, CreateTime: s.now.UnixNano(), ModifyTime: s.now.UnixNano(), TaskStates: map[string]*api.TaskState{},
		}}
		if resch > 0 {
			a.stub.RescheduleTracker = &api.RescheduleTracker{}
			for range resch {
				a.stub.RescheduleTracker.Events = append(a.stub.RescheduleTracker.Events, &api.RescheduleEvent{RescheduleTime: s.now.UnixNano()})
			}
		}
		for _, name := range append(append([]string{}, s.inits...), s.mains...) {
			ts := &api.TaskState{State: "pending"}
			a.tasks[name] = &simTask{name: name, init: !containsStr(s.mains, name), state: ts}
			a.stub.TaskStates[name] = ts
		}
		s.allocs = append(s.allocs, a)
		if len(s.inits) == 0 {
			a.mainsUp = true
		}
		for _, name := range s.inits {
			s.start(a, a.tasks[name])
		}
		if len(s.inits) == 0 {
			for _, name := range s.mains {
				s.start(a, a.tasks[name])
			}
		}
	})
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *nomadSim) start(a *simAlloc, task *simTask) {
	if a.done || !s.stopped.IsZero() {
		return
	}
	var idx *int32
	key := scenario.NonIndexedKey
	if s.sc.Indexed() {
		idx = &a.index
		key = strconv.Itoa(int(a.index))
	}
	n := s.starts[key+"/"+task.name]
	s.starts[key+"/"+task.name]++
	eff := s.sc.Behaviour(idx, n, task.name)
	s.event(a, task, api.TaskStarted)
	task.state.State, task.up = "running", true
	a.stub.ClientStatus = api.AllocClientStatusRunning
	gen := task.gen
	switch {
	case eff.Evict:
		s.at(s.now.Add(eff.After), func() {
			if a.done || task.gen != gen {
				return
			}
			s.lose(a)
		})
	case eff.Hang:
	default:
		code := eff.Exit
		s.at(s.now.Add(eff.After), func() {
			if a.done || task.gen != gen {
				return
			}
			s.exit(a, task, code)
		})
	}
}

func (s *nomadSim) exit(a *simAlloc, task *simTask, code int32) {
	s.event(a, task, api.TaskTerminated, "exit_code", strconv.Itoa(int(code)))
	task.up = false
	if code == 0 {
		task.ok, task.state.State = true, "dead"
		if task.init {
			for _, name := range s.inits {
				if !a.tasks[name].ok {
					return
				}
			}
			if !a.mainsUp {
				a.mainsUp = true
				for _, name := range s.mains {
					s.start(a, a.tasks[name])
				}
			}
			return
		}
		for _, name := range s.mains {
			if !a.tasks[name].ok {
				return
			}
		}
		a.done, a.stub.ClientStatus = true, api.AllocClientStatusComplete
		return
	}
	if s.onFailure && int(task.state.Restarts) < s.restarts && s.stopped.IsZero() {
		s.event(a, task, api.TaskRestarting)
		task.state.Restarts++
		s.at(s.now.Add(s.restartDelay), func() { s.start(a, task) })
		return
	}
	task.state.State = "dead"
	s.event(a, task, api.TaskNotRestarting)
	s.fail(a, api.AllocClientStatusFailed)
}

// fail ends a: its other tasks are killed (as Nomad kills the siblings of
// a task that failed), and a failed allocation is rescheduled while the
// index has reschedules left.
func (s *nomadSim) fail(a *simAlloc, status string) {
	s.killAll(a)
	a.done, a.stub.ClientStatus = true, status
	if !s.stopped.IsZero() {
		return
	}
	switch {
	case status == api.AllocClientStatusLost:
		s.place(a.index, a.resch, s.now) // replaced, not counted
	case !s.onFailure && (s.unlimited || a.resch < s.reschedule):
		d := s.reschedDelay << a.resch
		if d > s.cap || d <= 0 {
			d = s.cap
		}
		s.place(a.index, a.resch+1, s.now.Add(d))
	}
}

func (s *nomadSim) killAll(a *simAlloc) {
	for _, name := range append(append([]string{}, s.inits...), s.mains...) {
		task := a.tasks[name]
		if !task.up {
			if task.state.State != "dead" {
				task.state.State = "dead"
			}
			continue
		}
		task.gen++
		task.up = false
		s.event(a, task, api.TaskKilling)
		s.event(a, task, api.TaskTerminated, "exit_code", "0", "signal", "15")
		s.event(a, task, api.TaskKilled)
		task.state.State = "dead"
	}
}

func (s *nomadSim) lose(a *simAlloc) {
	for _, task := range a.tasks {
		task.gen++
		task.up = false
	}
	a.done, a.stub.ClientStatus = true, api.AllocClientStatusLost
	a.stub.ModifyTime = s.now.UnixNano()
	s.place(a.index, a.resch, s.now)
}

// stop is what Watch does: the Nomad job stopped, its running allocations
// killed, nothing restarted or placed any more.
func (s *nomadSim) stop() {
	s.stopped = s.now
	s.job.Stop = ptr(true)
	s.job.Version = ptr[uint64](1)
	s.job.SubmitTime = ptr(s.now.UnixNano())
	for _, a := range s.allocs {
		if a.done {
			continue
		}
		a.stub.DesiredStatus = api.AllocDesiredStatusStop
		s.killAll(a)
		a.done, a.stub.ClientStatus = true, api.AllocClientStatusComplete
	}
}

// outcome reads the normalized status as the corpus records outcomes.
func simOutcome(st *backends.Status) scenario.Outcome {
	o := scenario.Outcome{Phase: string(st.Phase), Succeeded: st.Succeeded, Failed: st.Failed,
		CompletedIndexes: st.CompletedIndexes, FailedIndexes: st.FailedIndexes}
	if st.Phase == backends.Failed {
		o.Reason = st.Reason
	}
	return o
}

func describeHistory(allocs []*api.AllocationListStub, t0 time.Time) string {
	var out string
	sorted := append([]*api.AllocationListStub{}, allocs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CreateIndex < sorted[j].CreateIndex })
	for _, a := range sorted {
		out += fmt.Sprintf("  %s %s %s created %v\n", shortID(a.ID), a.Name, a.ClientStatus, time.Unix(0, a.CreateTime).Sub(t0))
		var names []string
		for n := range a.TaskStates {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, e := range a.TaskStates[n].Events {
				out += fmt.Sprintf("    %8v %s %s %v\n", time.Unix(0, e.Time).Sub(t0), n, e.Type, e.Details)
			}
		}
	}
	return out
}
