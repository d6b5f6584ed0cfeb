// Package backendtest is the conformance suite every batchctl backend runs:
// the same jobs, the same expectations, whatever the platform. Cases a
// backend declares it cannot honour (Info().Capabilities) are skipped with
// the reason.
package backendtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Options configure one run of the suite.
type Options struct {
	// New returns a fresh backend for one case; it is closed after the case.
	New func(t *testing.T) backends.Backend
	// Namespace the jobs go in; "" is the backend's default.
	Namespace string
	// Timeout bounds each case; default one minute.
	Timeout time.Duration
	// HostProcesses: the jobs' processes run on this machine and see its
	// filesystem, so cases may leave marker files and check pids.
	HostProcesses bool
	// Simulated: pods do not execute (a simulated kubelet such as kwok).
	// Outcomes and run times come from the template annotations, logs are
	// canned, and containers are never restarted in place, so the cases that
	// need those are skipped or check less.
	Simulated bool
}

// Run runs every case as a parallel subtest.
func Run(t *testing.T, opt Options) {
	if opt.Timeout <= 0 {
		opt.Timeout = time.Minute
	}
	for _, c := range append(cases, cronCases...) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(newEnv(t, opt))
		})
	}
}

var cases = []struct {
	name string
	fn   func(*env)
}{
	{"Succeeds", testSucceeds},
	{"BackoffLimit", testBackoffLimit},
	{"OnFailureRestartsInPlace", testOnFailureRestartsInPlace},
	{"OnFailureRecovers", testOnFailureRecovers},
	{"Indexed", testIndexed},
	{"Deadline", testDeadline},
	{"DeleteRunning", testDeleteRunning},
	{"LogsOfEveryAttempt", testLogsOfEveryAttempt},
	{"LogTimes", testLogTimes},
	{"NotFound", testNotFound},
	{"AlreadyExists", testAlreadyExists},
	{"GenerateName", testGenerateName},
	{"ListByLabel", testListByLabel},
	{"WatchReachesTerminal", testWatchReachesTerminal},
	{"TTL", testTTL},
	{"Render", testRender},
	{"Suspend", testSuspend},
	{"WatchList", testWatchList},
	{"DryRun", testDryRun},
	{"ManifestForAttach", testManifestForAttach},
	{"RetryOfOneIndex", testRetryOfOneIndex},
}

// env is one case's backend and helpers.
type env struct {
	t        *testing.T
	b        backends.Backend
	info     backends.Info
	opt      Options
	ctx      context.Context
	executes bool // pods really run their command (not Simulated)
}

func newEnv(t *testing.T, opt Options) *env {
	b := opt.New(t)
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), opt.Timeout)
	t.Cleanup(cancel)
	info := b.Info()
	if opt.Simulated {
		info.Capabilities.RestartInPlace = false
	}
	return &env{t: t, b: b, info: info, opt: opt, ctx: ctx, executes: !opt.Simulated}
}

// need skips the case unless the backend declares the capability.
func (e *env) need(has bool, what string) {
	e.t.Helper()
	if !has {
		e.t.Skipf("%s does not support %s", e.info.Name, what)
	}
}

// submit creates the job (in the suite's namespace, labelled with the run)
// and deletes it after the case.
func (e *env) submit(s jobSpec) (*backends.Status, backends.Ref) {
	e.t.Helper()
	if s.name == "" && s.generateName == "" {
		s.name = jobName(e.t, "")
	}
	s.namespace = e.opt.Namespace
	if s.labels == nil {
		s.labels = map[string]string{}
	}
	s.labels["batchctl.dev/suite-run"] = runID
	return e.submitJob(s.parse(e.t))
}

// submitJob submits job as parsed and deletes it after the case.
func (e *env) submitJob(job *jobspec.Job) (*backends.Status, backends.Ref) {
	e.t.Helper()
	st, err := e.b.Submit(e.ctx, job)
	if err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.b.Delete(ctx, ref); err != nil && !errors.Is(err, backends.ErrNotFound) {
			e.t.Errorf("cleanup: Delete %s: %v", ref, err)
		}
	})
	return st, ref
}

// wait watches ref until fn is satisfied and returns the statuses seen.
func (e *env) wait(ref backends.Ref, fn func(*backends.Status) bool) []*backends.Status {
	e.t.Helper()
	var seen []*backends.Status
	err := e.b.Watch(e.ctx, ref, func(st *backends.Status) bool {
		e.check(st)
		seen = append(seen, st)
		return fn(st)
	})
	if err != nil {
		e.t.Fatalf("Watch %s: %v (last status: %s)", ref, err, describe(seen))
	}
	return seen
}

// finish waits for the terminal state and returns it with every status seen.
func (e *env) finish(ref backends.Ref) (*backends.Status, []*backends.Status) {
	e.t.Helper()
	seen := e.wait(ref, func(st *backends.Status) bool { return st.Phase.Terminal() })
	return seen[len(seen)-1], seen
}

// status is Status, failing the case on error.
func (e *env) status(ref backends.Ref) *backends.Status {
	e.t.Helper()
	st, err := e.b.Status(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("Status %s: %v", ref, err)
	}
	e.check(st)
	return st
}

// describe is the status with every attempt: Describe where the backend
// implements it (its Status may leave attempts out for cost), else Status.
func (e *env) describe(ref backends.Ref) *backends.Status {
	e.t.Helper()
	d, ok := e.b.(backends.Describer)
	if !ok {
		return e.status(ref)
	}
	st, err := d.Describe(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("Describe %s: %v", ref, err)
	}
	e.check(st)
	return st
}

// attempts are the finished job's attempts, which every backend must
// report (through Status or Describe): an empty list fails the case rather
// than letting the attempt checks pass vacuously.
func (e *env) attempts(ref backends.Ref) []backends.Attempt {
	e.t.Helper()
	atts := e.describe(ref).Attempts
	if len(atts) == 0 {
		e.t.Fatalf("%s reports no attempts for %s, through Status or Describe", e.info.Name, ref)
	}
	return atts
}

func describe(seen []*backends.Status) string {
	if len(seen) == 0 {
		return "none"
	}
	st := seen[len(seen)-1]
	return string(st.Phase) + " " + st.Reason + " " + st.Message
}

// logLine is one line a sink received.
type logLine struct {
	src  backends.LogSource
	text string
}

// sink collects lines; onLine, if set, sees each as it arrives.
type sink struct {
	mu     sync.Mutex
	lines  []logLine
	onLine func(logLine)
}

func (s *sink) Line(src backends.LogSource, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := logLine{src, text}
	s.lines = append(s.lines, l)
	if s.onLine != nil {
		s.onLine(l)
	}
}

func (e *env) logs(ref backends.Ref, opts backends.LogOptions) []logLine {
	e.t.Helper()
	var s sink
	if err := e.b.Logs(e.ctx, ref, opts, &s); err != nil {
		e.t.Fatalf("Logs %s: %v", ref, err)
	}
	return s.lines
}

// expect checks the counts and phase every backend reports the same way.
func expect(t *testing.T, st *backends.Status, phase backends.Phase, reason string, active, succeeded, failed int32) {
	t.Helper()
	if st.Phase != phase || st.Reason != reason {
		t.Errorf("phase/reason = %s/%q, want %s/%q (message %q)", st.Phase, st.Reason, phase, reason, st.Message)
	}
	if st.Active != active || st.Succeeded != succeeded || st.Failed != failed {
		t.Errorf("active/succeeded/failed = %d/%d/%d, want %d/%d/%d", st.Active, st.Succeeded, st.Failed, active, succeeded, failed)
	}
}
