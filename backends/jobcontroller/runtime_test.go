package jobcontroller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/jobspec"
)

// t0 is every test's job creation time.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// effect is what one container start does in the fake runtime.
type effect struct {
	exit          int32
	reason        string
	after         time.Duration
	hang          bool // run until stopped
	ignoreSigterm bool
	evictAfter    time.Duration // PodDisrupted(TerminationByKubelet) after this long
	disrupt       string        // reason for evictAfter; "" TerminationByKubelet
}

// behaviour says what the n-th start (0-based) of container at index
// (-1: NonIndexed) does.
type behaviour func(index int32, container string, n int) effect

func always(e effect) behaviour { return func(int32, string, int) effect { return e } }

type proc struct {
	pod, container string
	eff            effect
}

type timed struct {
	at  time.Time
	seq int
	fn  func()
}

// runtime is a tiny driver: it does what the machine asks, reports
// container starts and exits as the behaviour says, and keeps a log.
type runtime struct {
	t       *testing.T
	m       *Machine
	now     time.Time
	do      behaviour
	procs   map[string][]*proc // by pod
	index   map[string]int32
	starts  map[string]int // "index/container"
	stopped map[string]bool
	queue   []timed
	seq     int
	log     []string
}

func newRuntime(t *testing.T, manifest string, opts Options, do behaviour) *runtime {
	t.Helper()
	j, err := jobspec.Parse("test.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(j.Object, opts, t0)
	if err != nil {
		t.Fatal(err)
	}
	r := &runtime{t: t, m: m, now: t0, do: do, procs: map[string][]*proc{}, index: map[string]int32{},
		starts: map[string]int{}, stopped: map[string]bool{}}
	r.drain()
	return r
}

func (r *runtime) at(d time.Duration, fn func()) {
	r.queue = append(r.queue, timed{t0.Add(d), r.seq, fn})
	r.seq++
}

func (r *runtime) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%v %s", r.now.Sub(t0), fmt.Sprintf(format, args...)))
}

// drain carries out every pending action.
func (r *runtime) drain() {
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

func (r *runtime) apply(a Action) {
	switch a := a.(type) {
	case CreatePod:
		ix := int32(-1)
		if a.Index != nil {
			ix = *a.Index
		}
		r.index[a.Pod] = ix
		r.logf("create %s", a.Pod)
	case StartContainer:
		key := strconv.Itoa(int(r.index[a.Pod])) + "/" + a.Container
		e := r.do(r.index[a.Pod], a.Container, r.starts[key])
		r.starts[key]++
		r.logf("start %s/%s", a.Pod, a.Container)
		p := &proc{pod: a.Pod, container: a.Container, eff: e}
		if e.reason == "StartError" || strings.HasPrefix(e.reason, "Err") {
			r.m.ContainerExited(a.Pod, a.Container, Exit{Code: e.exit, Reason: e.reason}, r.now)
			return
		}
		r.procs[a.Pod] = append(r.procs[a.Pod], p)
		r.m.ContainerStarted(a.Pod, a.Container, r.now)
		switch {
		case e.evictAfter > 0:
			r.after(e.evictAfter, func() { r.m.PodDisrupted(a.Pod, e.disrupt, r.now) })
		case !e.hang:
			r.after(e.after, func() { r.exit(p, e.exit, e.reason) })
		}
	case StopPod:
		r.logf("stop %s grace %v", a.Pod, a.Grace)
		r.stopped[a.Pod] = true
		for _, p := range slices.Clone(r.procs[a.Pod]) {
			if !p.eff.ignoreSigterm {
				r.exit(p, 143, "")
			}
		}
		r.maybeTerminated(a.Pod)
	case KillPod:
		r.logf("kill %s", a.Pod)
		r.stopped[a.Pod] = true
		for _, p := range slices.Clone(r.procs[a.Pod]) {
			r.exit(p, 137, "")
		}
		r.maybeTerminated(a.Pod)
	case RemovePod:
		r.logf("remove %s", a.Pod)
	}
}

func (r *runtime) after(d time.Duration, fn func()) {
	r.queue = append(r.queue, timed{r.now.Add(d), r.seq, fn})
	r.seq++
}

func (r *runtime) exit(p *proc, code int32, reason string) {
	ps := r.procs[p.pod]
	i := slices.Index(ps, p)
	if i < 0 {
		return // already gone
	}
	r.procs[p.pod] = slices.Delete(ps, i, i+1)
	r.logf("exit %s/%s %d", p.pod, p.container, code)
	r.m.ContainerExited(p.pod, p.container, Exit{Code: code, Reason: reason}, r.now)
	r.maybeTerminated(p.pod)
}

func (r *runtime) maybeTerminated(pod string) {
	if r.stopped[pod] && len(r.procs[pod]) == 0 {
		delete(r.stopped, pod)
		r.logf("terminated %s", pod)
		r.m.PodTerminated(pod, r.now)
	}
}

// runUntil advances time, event by event, until the machine is done or
// limit has passed since t0.
func (r *runtime) runUntil(limit time.Duration) {
	r.t.Helper()
	for steps := 0; steps < 100000; steps++ {
		r.drain()
		if r.m.Done() {
			return
		}
		next, ok := r.m.NextTimer()
		qi := -1
		for i, q := range r.queue {
			if qi < 0 || q.at.Before(r.queue[qi].at) || (q.at.Equal(r.queue[qi].at) && q.seq < r.queue[qi].seq) {
				qi = i
			}
		}
		switch {
		case qi >= 0 && (!ok || !next.Before(r.queue[qi].at)):
			q := r.queue[qi]
			if q.at.Sub(t0) > limit {
				return
			}
			r.queue = slices.Delete(r.queue, qi, qi+1)
			r.now = q.at
			q.fn()
		case ok:
			if next.Sub(t0) > limit {
				return
			}
			if next.Before(r.now) {
				r.t.Fatalf("timer %v is in the past (now %v)", next.Sub(t0), r.now.Sub(t0))
			}
			r.now = next
			r.m.Tick(r.now)
		default:
			return
		}
	}
	r.t.Fatal("runaway simulation")
}

// run runs to completion and fails the test if the job is not done.
func (r *runtime) run() Status {
	r.t.Helper()
	r.runUntil(24 * time.Hour)
	if !r.m.Done() {
		r.t.Fatalf("job not done; log:\n%s", strings.Join(r.log, "\n"))
	}
	return r.m.Status()
}

// times returns when each log line with the given verb happened.
func (r *runtime) times(verb string) []time.Duration {
	var out []time.Duration
	for _, l := range r.log {
		f := strings.Fields(l)
		if f[1] == verb {
			d, err := time.ParseDuration(f[0])
			if err != nil {
				r.t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

func gaps(ts []time.Duration) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i]-ts[i-1])
	}
	return out
}

func secs(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

// outcome is what the differential tests compare.
func outcome(st Status) string {
	fi := ""
	if st.FailedIndexes != nil {
		fi = *st.FailedIndexes
	}
	return fmt.Sprintf("%s %q succeeded=%d failed=%d completed=%q failedIndexes=%q",
		st.Phase, st.Reason, st.Succeeded, st.Failed, st.CompletedIndexes, fi)
}

func conditionTypes(st Status) string {
	var s []string
	for _, c := range st.Conditions {
		s = append(s, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return strings.Join(s, " ")
}

func (r *runtime) logString() string { return strings.Join(r.log, "\n") }

// job builds a manifest from spec lines (indented two spaces below spec:)
// and a pod spec body; containers default to one named main.
func job(spec, podSpec string) string {
	if !strings.Contains(podSpec, "containers:") {
		podSpec += "\ncontainers: [{name: main, image: busybox}]"
	}
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n" + indent(spec, "  ") +
		"\n  template:\n    spec:\n" + indent(podSpec, "      ") + "\n"
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n")
}
