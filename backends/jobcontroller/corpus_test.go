package jobcontroller

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
	"github.com/batchctl/batchctl/jobspec"
)

// The scenario corpus (testdata/jobcontroller) holds, for each scenario, the
// outcome the real Kubernetes Job controller produced (e2e/jobdiff records
// it). Here every scenario is played against the machine alone, on a fake
// clock, with Kubernetes' own delays: what e2e/jobdiff's local run does with
// real processes and real time, in a few milliseconds, and including the
// node evictions no local process can cause.

const corpusDir = "../../testdata/jobcontroller"

var corpusTraces = flag.Bool("corpus.traces", false, "log every corpus scenario's simulated run, not only those that differ")

// simLimit is how long, in simulated time, a scenario may run.
const simLimit = 24 * time.Hour

// corpusRun is one simulated run of a scenario.
type corpusRun struct {
	outcome scenario.Outcome
	// attempts counts the machine's own attempts (Status.Attempts) per
	// index key, as e2e/jobdiff counts the local backend's starts.
	attempts map[string]int
	events   []backends.Event // the machine's
	trace    []string         // the simulated runtime's
	took     time.Duration    // simulated, from creation to Done
}

// simProc is one container process of the simulated runtime.
type simProc struct {
	pod, container string
	eff            scenario.Effect
	alive          bool
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

// corpusSim does what the machine asks, as scenario.Behaviour says each
// container start behaves, the way e2e/scriptkubelet plays pods for the
// real controller: a container exits with its code after its time, hangs
// until stopped, or is evicted by the node; SIGTERM ends it with 143 unless
// it ignores SIGTERM, SIGKILL with 137.
type corpusSim struct {
	sc       *scenario.Scenario
	m        *Machine
	now      time.Time
	index    map[string]*int32     // completion index, by pod
	cstarts  map[string]int        // starts so far, by "index/container"
	starts   map[string]int        // pods created + in-place restarts, by index key
	procs    map[string][]*simProc // live processes, by pod
	stopping map[string]bool       // StopPod or KillPod received, PodTerminated not sent
	queue    []simEvent
	seq      int
	trace    []string
}

// playScenario runs sc from creation until the machine is Done.
func playScenario(sc *scenario.Scenario) (corpusRun, error) {
	s := &corpusSim{sc: sc, now: t0, index: map[string]*int32{}, cstarts: map[string]int{},
		starts: map[string]int{}, procs: map[string][]*simProc{}, stopping: map[string]bool{}}
	run, err := s.play()
	run.trace = s.trace
	if s.m != nil {
		run.events = s.m.Status().Events
	}
	return run, err
}

func (s *corpusSim) play() (corpusRun, error) {
	var run corpusRun
	j, err := jobspec.Parse(s.sc.Name, bytes.NewReader(s.sc.Manifest()))
	if err != nil {
		return run, err
	}
	// Zero Options: Kubernetes' delays (pod backoff 10 s doubling, crash
	// loop 10 s doubling, 30 s grace); the fake clock makes them free.
	if s.m, err = New(j.Object, Options{}, t0); err != nil {
		return run, err
	}
	for _, a := range s.sc.Actions {
		suspend := a.Suspend
		s.at(t0.Add(a.At.D()), func() {
			// e2e/jobdiff stops acting once the job has its outcome.
			if s.m.finished() {
				return
			}
			if suspend {
				s.logf("suspend")
				s.m.Suspend(s.now)
			} else {
				s.logf("resume")
				s.m.Resume(s.now)
			}
		})
	}
	for steps := 0; ; steps++ {
		if steps > 1_000_000 {
			return run, errors.New("runaway simulation")
		}
		s.drain()
		if s.m.Done() {
			break
		}
		next, ok := s.m.NextTimer()
		qi := -1
		for i, q := range s.queue {
			if qi < 0 || q.at.Before(s.queue[qi].at) || q.at.Equal(s.queue[qi].at) && q.seq < s.queue[qi].seq {
				qi = i
			}
		}
		// The runtime's events go first when the machine's timer is due at
		// the same instant.
		switch {
		case qi >= 0 && (!ok || !next.Before(s.queue[qi].at)):
			q := s.queue[qi]
			s.queue = slices.Delete(s.queue, qi, qi+1)
			if err := s.advanceTo(q.at); err != nil {
				return run, err
			}
			q.fn()
		case ok:
			if err := s.advanceTo(next); err != nil {
				return run, err
			}
			s.m.Tick(s.now)
		default:
			return run, fmt.Errorf("stuck at %v: the machine is not done and nothing is pending", s.now.Sub(t0))
		}
	}
	run.took = s.now.Sub(t0)
	st := s.m.Status()
	o := scenario.Outcome{
		Phase: string(st.Phase), Succeeded: st.Succeeded, Failed: st.Failed,
		CompletedIndexes: st.CompletedIndexes, Starts: s.starts,
	}
	if st.Phase == backends.Failed {
		o.Reason = st.Reason
	}
	if st.FailedIndexes != nil {
		o.FailedIndexes = *st.FailedIndexes
	}
	run.outcome = o
	run.attempts = map[string]int{}
	for _, a := range st.Attempts {
		run.attempts[scenario.IndexKey(a.Index)]++
	}
	return run, nil
}

func (s *corpusSim) advanceTo(t time.Time) error {
	if t.Before(s.now) {
		return fmt.Errorf("time runs backwards: %v after %v", t.Sub(t0), s.now.Sub(t0))
	}
	if t.Sub(t0) > simLimit {
		return fmt.Errorf("not done after %v of simulated time", simLimit)
	}
	s.now = t
	return nil
}

func (s *corpusSim) at(t time.Time, fn func()) {
	s.queue = append(s.queue, simEvent{t, s.seq, fn})
	s.seq++
}

func (s *corpusSim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%8v %s", s.now.Sub(t0), fmt.Sprintf(format, args...)))
}

// drain carries out the machine's actions until it has none left.
func (s *corpusSim) drain() {
	for {
		acts := s.m.TakeActions()
		if len(acts) == 0 {
			return
		}
		for _, a := range acts {
			s.apply(a)
		}
	}
}

func (s *corpusSim) apply(a Action) {
	switch a := a.(type) {
	case CreatePod:
		s.index[a.Pod] = a.Index
		s.starts[scenario.IndexKey(a.Index)]++ // a pod is a start
		s.logf("create %s (index %s)", a.Pod, scenario.IndexKey(a.Index))
	case StartContainer:
		ix := s.index[a.Pod]
		if a.Restart > 0 { // an in-place restart is a start too
			s.starts[scenario.IndexKey(ix)]++
		}
		key := scenario.IndexKey(ix) + "/" + a.Container
		n := s.cstarts[key]
		s.cstarts[key]++
		eff := s.sc.Behaviour(ix, n, a.Container)
		s.logf("start %s/%s (start %d, restart %d): %v", a.Pod, a.Container, n, a.Restart, eff)
		p := &simProc{pod: a.Pod, container: a.Container, eff: eff, alive: true}
		s.procs[a.Pod] = append(s.procs[a.Pod], p)
		s.m.ContainerStarted(a.Pod, a.Container, s.now)
		switch {
		case eff.Hang:
		case eff.Evict:
			s.at(s.now.Add(eff.After), func() {
				if p.alive && !s.stopping[p.pod] {
					s.logf("evict %s", p.pod)
					s.m.PodDisrupted(p.pod, "TerminationByKubelet", s.now)
				}
			})
		default:
			s.at(s.now.Add(eff.After), func() { s.exit(p, eff.Exit) })
		}
	case StopPod:
		s.logf("stop %s (grace %v)", a.Pod, a.Grace)
		s.stopping[a.Pod] = true
		for _, p := range slices.Clone(s.procs[a.Pod]) {
			if !p.eff.IgnoreSigterm {
				s.exit(p, 143)
			}
		}
		s.maybeTerminated(a.Pod)
	case KillPod:
		s.logf("kill %s", a.Pod)
		s.stopping[a.Pod] = true
		for _, p := range slices.Clone(s.procs[a.Pod]) {
			s.exit(p, 137)
		}
		s.maybeTerminated(a.Pod)
	case RemovePod:
		s.logf("remove %s", a.Pod)
	default:
		panic(fmt.Sprintf("unknown action %T", a))
	}
}

// exit ends a live process with code.
func (s *corpusSim) exit(p *simProc, code int32) {
	if !p.alive {
		return
	}
	p.alive = false
	ps := s.procs[p.pod]
	s.procs[p.pod] = slices.Delete(ps, slices.Index(ps, p), slices.Index(ps, p)+1)
	s.logf("exit %s/%s %d", p.pod, p.container, code)
	s.m.ContainerExited(p.pod, p.container, Exit{Code: code}, s.now)
	s.maybeTerminated(p.pod)
}

// maybeTerminated reports a stopped pod once none of its processes is left.
func (s *corpusSim) maybeTerminated(pod string) {
	if s.stopping[pod] && len(s.procs[pod]) == 0 {
		delete(s.stopping, pod)
		s.logf("terminated %s", pod)
		s.m.PodTerminated(pod, s.now)
	}
}

func loadCorpus(t *testing.T) []*scenario.Scenario {
	t.Helper()
	all, err := scenario.LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestScenarioCorpus plays every scenario of the corpus against the machine
// and compares its outcome with what the real Job controller did.
func TestScenarioCorpus(t *testing.T) {
	all := loadCorpus(t)
	begin := time.Now()
	var failed []string
	for _, sc := range all {
		ok := t.Run(sc.Name, func(t *testing.T) {
			if sc.Expect == nil {
				t.Fatal("no expect: block; record one with go test ./e2e/jobdiff -run Kubernetes -update")
			}
			run, err := playScenario(sc)
			if err != nil {
				t.Fatalf("%v\n%s", err, run.describe())
			}
			if *corpusTraces {
				t.Logf("%s\n%s", sc.About, run.describe())
			}
			if d := sc.Expect.Diff(run.outcome); d != "" {
				t.Errorf("the machine differs from the real Job controller (%s):\n%s%s", sc.About, d, run.describe())
			}
			// The local backend's starts are its attempts: they must count
			// the same pods and restarts.
			if !reflect.DeepEqual(run.attempts, run.outcome.Starts) {
				t.Errorf("Status.Attempts per index %v, but the runtime saw starts %v\n%s", run.attempts, run.outcome.Starts, run.describe())
			}
		})
		if !ok {
			failed = append(failed, sc.Name)
		}
	}
	t.Logf("%d of %d scenarios match the real Job controller in %v", len(all)-len(failed), len(all), time.Since(begin).Round(time.Microsecond))
	if len(failed) > 0 {
		t.Logf("differ: %s", strings.Join(failed, ", "))
	}
}

// TestScenarioCorpusDeterministic: two runs of the corpus give the same
// outcomes, machine events and runtime traces.
func TestScenarioCorpusDeterministic(t *testing.T) {
	all := loadCorpus(t)
	for _, sc := range all {
		a, errA := playScenario(sc)
		b, errB := playScenario(sc)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Errorf("%s: errors %v, then %v", sc.Name, errA, errB)
		}
		if d := a.outcome.Diff(b.outcome); d != "" {
			t.Errorf("%s: the second run's outcome differs:\n%s", sc.Name, d)
		}
		if !reflect.DeepEqual(a.attempts, b.attempts) || a.took != b.took {
			t.Errorf("%s: attempts %v in %v, then %v in %v", sc.Name, a.attempts, a.took, b.attempts, b.took)
		}
		if !reflect.DeepEqual(a.events, b.events) {
			t.Errorf("%s: the second run's events differ:\n%v\nthen\n%v", sc.Name, a.events, b.events)
		}
		if !slices.Equal(a.trace, b.trace) {
			t.Errorf("%s: the second run's trace differs:\n%s\nthen\n%s", sc.Name, strings.Join(a.trace, "\n"), strings.Join(b.trace, "\n"))
		}
		// A job that fails before any pod (deadline-overflow) has no trace.
		if len(a.events) == 0 || (len(a.trace) == 0 && len(a.outcome.Starts) > 0) {
			t.Errorf("%s: no events (%d) or trace (%d) to compare", sc.Name, len(a.events), len(a.trace))
		}
	}
}

// describe is the run for a reader of a failure: outcome, trace, events.
func (r corpusRun) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "got (after %v simulated):\n%s", r.took, r.outcome.YAML())
	fmt.Fprintf(&b, "runtime:\n  %s\n", strings.Join(r.trace, "\n  "))
	b.WriteString("machine events:\n")
	for _, e := range r.events {
		fmt.Fprintf(&b, "  %8v %s %s %s: %s\n", e.Time.Sub(t0), e.Type, e.Reason, e.Object, e.Message)
	}
	return b.String()
}
