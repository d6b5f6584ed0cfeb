package backendtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// sortAttempts orders attempts by index, then attempt number: backends may
// report them in any order.
func sortAttempts(atts []backends.Attempt) {
	sort.SliceStable(atts, func(i, j int) bool {
		ii, ij := int32(-1), int32(-1)
		if atts[i].Index != nil {
			ii = *atts[i].Index
		}
		if atts[j].Index != nil {
			ij = *atts[j].Index
		}
		if ii != ij {
			return ii < ij
		}
		return atts[i].Attempt < atts[j].Attempt
	})
}

// testRender holds Render to its contract: a native object, and a fidelity
// report in field order that names every field the neutral model leaves out
// (unless the platform is Kubernetes itself), without touching the platform.
func testRender(e *env) {
	s := jobSpec{name: jobName(e.t, ""), script: "true", extra: "" +
		"        resources: {limits: {cpu: 500m, memory: 64Mi}}\n" +
		"        ports: [{containerPort: 8080}]\n" +
		"        securityContext: {runAsNonRoot: true}\n"}
	job := s.parse(e.t)
	r, err := e.b.Render(job)
	if err != nil {
		e.t.Fatalf("Render: %v", err)
	}
	if r.Native == nil || reflect.ValueOf(r.Native).IsZero() {
		e.t.Errorf("Render gave no native object")
	}
	sorted := slices.Clone(r.Fidelity)
	backends.SortFidelity(sorted)
	if !reflect.DeepEqual(sorted, r.Fidelity) {
		e.t.Errorf("fidelity report is not in field order:\n%v\nwant\n%v", r.Fidelity, sorted)
	}
	for _, f := range r.Fidelity {
		if f.Field == "" || f.Message == "" {
			e.t.Errorf("fidelity entry without field or message: %+v", f)
		}
		switch f.Level {
		case backends.Note, backends.Emulated, backends.Approximated, backends.Unsupported:
		default:
			e.t.Errorf("fidelity entry %s has level %q", f.Field, f.Level)
		}
	}
	if e.info.Capabilities.Native {
		if len(r.Fidelity) > 0 {
			e.t.Errorf("%s is Kubernetes itself but reports %v", e.info.Name, r.Fidelity)
		}
		return
	}
	if len(job.Unmodelled) == 0 {
		e.t.Fatal("the test manifest should have fields the model leaves out")
	}
	for _, path := range job.Unmodelled {
		named := slices.ContainsFunc(r.Fidelity, func(f backends.Fidelity) bool {
			return f.Field == path || strings.HasPrefix(path, f.Field+".") || strings.HasPrefix(path, f.Field+"[")
		})
		if !named {
			e.t.Errorf("fidelity report does not name %s, which %s cannot honour as written: %v", path, e.info.Name, r.Fidelity)
		}
	}
	if _, err := e.b.Status(e.ctx, backends.Ref{Name: s.name, Namespace: e.opt.Namespace}); err == nil {
		e.t.Errorf("Render created job %s", s.name)
	}
}

// testSuspend: a job created suspended runs nothing until resumed; a running
// job suspended stops its pods without counting them as failures.
func testSuspend(e *env) {
	e.need(e.info.Capabilities.Suspend, "spec.suspend, Suspend and Resume")
	sp, ok := e.b.(backends.Suspender)
	if !ok {
		e.t.Fatalf("%s declares Capabilities.Suspend but is not a backends.Suspender", e.info.Name)
	}
	_, ref := e.submit(jobSpec{suspend: true, script: "echo ran", duration: "200ms"})
	expect(e.t, e.status(ref), backends.Pending, backends.ReasonSuspended, 0, 0, 0)
	if err := sp.Resume(e.ctx, ref); err != nil {
		e.t.Fatalf("Resume: %v", err)
	}
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)

	_, ref = e.submit(jobSpec{name: jobName(e.t, "running"), script: "echo started; sleep 2", duration: "2s"})
	e.wait(ref, func(st *backends.Status) bool { return st.Active > 0 || st.Phase.Terminal() })
	if err := sp.Suspend(e.ctx, ref); err != nil {
		e.t.Fatalf("Suspend: %v", err)
	}
	seen := e.wait(ref, func(st *backends.Status) bool {
		return st.Phase.Terminal() || (st.Reason == backends.ReasonSuspended && st.Active == 0)
	})
	expect(e.t, seen[len(seen)-1], backends.Pending, backends.ReasonSuspended, 0, 0, 0)
	if err := sp.Suspend(e.ctx, ref); err != nil {
		e.t.Errorf("Suspend of a suspended job: %v, want no-op", err)
	}
	if err := sp.Resume(e.ctx, ref); err != nil {
		e.t.Fatalf("Resume: %v", err)
	}
	st, _ = e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	if err := sp.Suspend(e.ctx, ref); !errors.Is(err, backends.ErrInvalid) {
		e.t.Errorf("Suspend of a finished job: %v, want invalid", err)
	}
}

// testWatchList: a backend that can follow many jobs with one watch sees
// each of them through to its end, and only those its selector matches.
func testWatchList(e *env) {
	lw, ok := e.b.(backends.ListWatcher)
	if !ok {
		e.t.Skipf("%s follows many jobs by polling List (no ListWatcher)", e.info.Name)
	}
	base := jobName(e.t, "")
	e.submit(jobSpec{name: base + "-a", labels: map[string]string{"batchctl.dev/case": base}, script: "true"})
	e.submit(jobSpec{name: base + "-b", labels: map[string]string{"batchctl.dev/case": base}, backoffLimit: ptr[int32](0), script: "exit 3", exitCode: 3})
	e.submit(jobSpec{name: base + "-other", script: "true"})
	sel, err := backends.ParseSelector("batchctl.dev/case=" + base)
	if err != nil {
		e.t.Fatal(err)
	}
	calls := 0
	var last []*backends.Status
	err = lw.WatchList(e.ctx, backends.ListOptions{Namespace: e.opt.Namespace, Selector: sel}, func(sts []*backends.Status) bool {
		calls++
		last = sts
		for _, st := range sts {
			e.check(st)
			if st.Name == base+"-other" {
				e.t.Errorf("WatchList reported %s, which the selector does not match", st.Name)
			}
		}
		done := len(sts) == 2
		for _, st := range sts {
			done = done && st.Phase.Terminal()
		}
		return done
	})
	if err != nil {
		e.t.Fatalf("WatchList: %v (after %d calls)", err, calls)
	}
	if len(last) != 2 || last[0].Name != base+"-a" || last[1].Name != base+"-b" {
		e.t.Fatalf("last report %v, want %s-a and %s-b in order", names(last), base, base)
	}
	if last[0].Phase != backends.Succeeded || last[1].Phase != backends.Failed {
		e.t.Errorf("phases %s, %s; want Succeeded, Failed", last[0].Phase, last[1].Phase)
	}

	// A selector that matches nothing is reported at once, as an empty
	// list: callers resolve what they follow from the first report.
	none, err := backends.ParseSelector("batchctl.dev/case=" + base + "-none")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	reported := -1
	err = lw.WatchList(ctx, backends.ListOptions{Namespace: e.opt.Namespace, Selector: none}, func(sts []*backends.Status) bool {
		reported = len(sts)
		return true
	})
	if err != nil || reported != 0 {
		e.t.Errorf("WatchList of a selector matching nothing: err %v, first report of %d jobs; want an empty report at once", err, reported)
	}
}

func names(sts []*backends.Status) []string {
	var out []string
	for _, st := range sts {
		out = append(out, st.Name)
	}
	return out
}

// testDryRun: a dry run creates nothing, names the job it would create,
// and refuses a taken name as Submit does.
func testDryRun(e *env) {
	dr, ok := e.b.(backends.DryRunner)
	if !ok {
		e.t.Skipf("%s has no server-side dry run", e.info.Name)
	}
	spec := jobSpec{name: jobName(e.t, ""), namespace: e.opt.Namespace, script: "true",
		labels: map[string]string{"batchctl.dev/suite-run": runID}}
	res, err := dr.DryRun(e.ctx, spec.parse(e.t))
	if err != nil {
		e.t.Fatalf("DryRun: %v", err)
	}
	if res.Status == nil || res.Status.Name != spec.name || res.Status.Phase != backends.Pending {
		e.t.Errorf("DryRun status %+v, want %s Pending", res.Status, spec.name)
	}
	ref := backends.Ref{Name: spec.name, Namespace: e.opt.Namespace}
	if _, err := e.b.Status(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Fatalf("Status after DryRun: %v, want not found: the dry run created the job", err)
	}
	e.submit(spec)
	if _, err := dr.DryRun(e.ctx, spec.parse(e.t)); !errors.Is(err, backends.ErrAlreadyExists) {
		e.t.Errorf("DryRun of a taken name: %v, want already exists", err)
	}
}

// testManifestForAttach: `submit --if-exists attach` compares the manifest a
// job was submitted with (backends.Manifester) with the one given again:
// the backend must return it as stamped, so that the same manifest hashes
// the same and a changed one does not.
func testManifestForAttach(e *env) {
	m, ok := e.b.(backends.Manifester)
	if !ok {
		e.t.Skipf("%s keeps no manifest (submit --if-exists attach and retry are refused)", e.info.Name)
	}
	spec := jobSpec{name: jobName(e.t, ""), namespace: e.opt.Namespace, script: "true",
		labels: map[string]string{"batchctl.dev/suite-run": runID}}
	stamped := func(s jobSpec) *jobspec.Job {
		job := s.parse(e.t)
		if err := backends.StampSubmitted(job.Object); err != nil {
			e.t.Fatal(err)
		}
		job.Annotations = job.Object.Annotations
		return job
	}
	job := stamped(spec)
	_, ref := e.submitJob(job)
	old, err := m.Manifest(e.ctx, ref)
	if err != nil || old == nil {
		e.t.Fatalf("Manifest: %v, %v; want the submitted manifest", old, err)
	}
	if got, want := backends.SpecHash(old), job.Object.Annotations[backends.SpecHashAnnotation]; got != want {
		e.t.Errorf("the same manifest hashes %s once stored, %s as submitted: attach would refuse it", got, want)
	}
	changed := spec
	changed.env = [][2]string{{"CHANGED", "1"}}
	if diff := backends.ManifestDiff(old, stamped(changed).Object); len(diff) == 0 || !strings.Contains(strings.Join(diff, " "), "env") {
		e.t.Errorf("diff with a changed env: %q, want it named", diff)
	}
	if _, err := m.Manifest(e.ctx, backends.Ref{Name: jobName(e.t, "nosuch"), Namespace: e.opt.Namespace}); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Manifest of no job: %v, want not found", err)
	}
}

// testRetryOfOneIndex: `batchctl retry` reruns index i of an Indexed job as
// a NonIndexed job whose JOB_COMPLETION_INDEX says i; the backend must pass
// it to the container as set.
func testRetryOfOneIndex(e *env) {
	spec := jobSpec{script: "echo index=$JOB_COMPLETION_INDEX", env: [][2]string{{"JOB_COMPLETION_INDEX", "3"}},
		labels: map[string]string{"batchctl.dev/retry-index": "3"}}
	spec.name = jobName(e.t, "")
	_, ref := e.submit(spec)
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	if !e.executes {
		return
	}
	var got []string
	for _, l := range e.logs(ref, backends.LogOptions{}) {
		got = append(got, l.text)
	}
	if !slices.Contains(got, "index=3") {
		e.t.Errorf("logs %q, want index=3: the retry of index 3 would run as another index", got)
	}
}
