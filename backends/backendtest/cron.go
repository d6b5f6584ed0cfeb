package backendtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// The CronJob cases run on every backend that is a backends.Scheduler,
// with the platforms' real timing: a schedule of every minute waits for
// the minute. They run in parallel with the rest, each within cronTimeout.

var cronCases = []struct {
	name string
	fn   func(*env)
}{
	{"CronTrigger", testCronTrigger},
	{"CronSchedules", testCronSchedules},
	{"CronForbid", testCronForbid},
	{"CronReplace", testCronReplace},
	{"CronHistory", testCronHistory},
	{"CronSuspend", testCronSuspend},
	{"CronDelete", testCronDelete},
	{"CronNotFound", testCronNotFound},
	{"CronAlreadyExists", testCronAlreadyExists},
	{"CronList", testCronList},
}

// cronTimeout bounds a CronJob case: a minute for the schedule, more for
// the Job it creates.
const cronTimeout = 150 * time.Second

// cronSpec is a test CronJob: its own fields and the Job template.
type cronSpec struct {
	name              string
	schedule          string
	concurrencyPolicy string
	suspend           bool
	successfulLimit   *int32
	failedLimit       *int32
	labels            map[string]string
	job               jobSpec
}

func (c cronSpec) manifest(namespace string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("apiVersion: batch/v1")
	w("kind: CronJob")
	w("metadata:")
	w("  name: %s", q(c.name))
	if namespace != "" {
		w("  namespace: %s", q(namespace))
	}
	if len(c.labels) > 0 {
		w("  labels:")
		for k, v := range c.labels {
			w("    %s: %s", q(k), q(v))
		}
	}
	w("spec:")
	w("  schedule: %s", q(c.schedule))
	if c.concurrencyPolicy != "" {
		w("  concurrencyPolicy: %s", c.concurrencyPolicy)
	}
	if c.suspend {
		w("  suspend: true")
	}
	if c.successfulLimit != nil {
		w("  successfulJobsHistoryLimit: %d", *c.successfulLimit)
	}
	if c.failedLimit != nil {
		w("  failedJobsHistoryLimit: %d", *c.failedLimit)
	}
	w("  jobTemplate:")
	job := c.job
	job.name = "unused"
	_, spec, _ := strings.Cut(job.manifest(), "\nspec:\n")
	w("    spec:")
	for _, line := range strings.Split(strings.TrimRight(spec, "\n"), "\n") {
		w("    %s", line)
	}
	return b.String()
}

// scheduler is the backend as a Scheduler; the case is skipped without.
func (e *env) scheduler() backends.Scheduler {
	e.t.Helper()
	s, ok := e.b.(backends.Scheduler)
	e.need(ok && e.info.Capabilities.CronJobs, "CronJobs")
	ctx, cancel := context.WithTimeout(context.Background(), max(e.opt.Timeout, cronTimeout))
	e.t.Cleanup(cancel)
	e.ctx = ctx
	return s
}

// submitCron creates the CronJob and deletes it (and its Jobs) after the case.
func (e *env) submitCron(s backends.Scheduler, c cronSpec) (*backends.CronJobStatus, backends.Ref) {
	e.t.Helper()
	if c.name == "" {
		c.name = cronName(e.t)
	}
	if c.labels == nil {
		c.labels = map[string]string{}
	}
	c.labels["batchctl.dev/suite-run"] = runID
	cj, err := jobspec.ParseCronJob(c.name+".yaml", strings.NewReader(c.manifest(e.opt.Namespace)))
	if err != nil {
		e.t.Fatalf("parse test CronJob: %v\n%s", err, c.manifest(e.opt.Namespace))
	}
	st, err := s.SubmitCronJob(e.ctx, cj)
	if err != nil {
		e.t.Fatalf("SubmitCronJob: %v", err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.DeleteCronJob(ctx, ref); err != nil && !errors.Is(err, backends.ErrNotFound) {
			e.t.Errorf("cleanup: DeleteCronJob %s: %v", ref, err)
		}
	})
	e.checkCron(st)
	if st.Name != c.name || st.Schedule != c.schedule {
		e.t.Errorf("SubmitCronJob: name %q schedule %q, want %q %q", st.Name, st.Schedule, c.name, c.schedule)
	}
	return st, ref
}

// cronName is a CronJob name for the case, short enough for its Jobs' names.
func cronName(t *testing.T) string {
	n := jobName(t, "")
	if len(n) > jobspec.MaxCronJobNameLength {
		n = strings.TrimRight(n[:jobspec.MaxCronJobNameLength], "-")
	}
	return n
}

func (e *env) cronStatus(s backends.Scheduler, ref backends.Ref, detail bool) *backends.CronJobStatus {
	e.t.Helper()
	st, err := s.CronJobStatus(e.ctx, ref, detail)
	if err != nil {
		e.t.Fatalf("CronJobStatus %s: %v", ref, err)
	}
	e.checkCron(st)
	return st
}

// waitCron watches the CronJob until fn holds.
func (e *env) waitCron(s backends.Scheduler, ref backends.Ref, what string, fn func(*backends.CronJobStatus) bool) *backends.CronJobStatus {
	e.t.Helper()
	var last *backends.CronJobStatus
	err := s.WatchCronJob(e.ctx, ref, func(st *backends.CronJobStatus) bool {
		last = st
		e.checkCron(st)
		return fn(st)
	})
	if err != nil {
		e.t.Fatalf("waiting for %s of %s: %v (last: %+v)", what, ref, err, last)
	}
	return last
}

// checkCron holds every CronJob status to the contract.
func (e *env) checkCron(st *backends.CronJobStatus) {
	e.t.Helper()
	bad := func(format string, args ...any) {
		e.t.Helper()
		e.t.Errorf("cronjob %s/%s: "+format, append([]any{st.Namespace, st.Name}, args...)...)
	}
	switch {
	case st.Name == "" || st.Namespace == "":
		bad("name and namespace must be set")
	case st.Backend != e.info.Name:
		bad("backend %q, want %q", st.Backend, e.info.Name)
	case st.UID == "":
		bad("no uid")
	case st.Schedule == "" || st.ConcurrencyPolicy == "":
		bad("schedule %q, concurrencyPolicy %q", st.Schedule, st.ConcurrencyPolicy)
	case st.CreationTime == nil:
		bad("no creationTime")
	case st.Active == nil:
		bad("active is null (an empty list when none)")
	case st.State != st.StateOf():
		bad("state %s, its fields say %s", st.State, st.StateOf())
	case st.Suspended && st.NextScheduleTime != nil:
		bad("suspended with a next schedule time")
	case st.Scheduler == "":
		bad("no scheduler named")
	}
	for i := range st.Jobs {
		r := st.Jobs[i]
		e.check(&r.Status)
		if r.Labels[backends.CronJobLabel] != st.Name {
			bad("job %s has labels %v, want %s=%s", r.Name, r.Labels, backends.CronJobLabel, st.Name)
		}
		if r.Manual == (r.ScheduledTime != nil) {
			bad("job %s: manual %v, scheduled time %v: exactly one", r.Name, r.Manual, r.ScheduledTime)
		}
	}
}

func scheduled(st *backends.CronJobStatus) []backends.CronJobRun {
	var out []backends.CronJobRun
	for _, r := range st.Jobs {
		if r.ScheduledTime != nil {
			out = append(out, r)
		}
	}
	return out
}

// yearly never fires while a case runs.
const yearly = "0 0 1 1 *"

func testCronTrigger(e *env) {
	s := e.scheduler()
	_, ref := e.submitCron(s, cronSpec{schedule: yearly, job: jobSpec{script: "echo triggered"}})
	job, err := s.TriggerCronJob(e.ctx, ref, "")
	if err != nil {
		e.t.Fatalf("TriggerCronJob: %v", err)
	}
	jref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	e.t.Cleanup(func() { _ = e.b.Delete(context.Background(), jref) })
	st, _ := e.finish(jref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	if st.Labels[backends.CronJobLabel] != ref.Name {
		e.t.Errorf("triggered job's labels %v lack %s=%s", st.Labels, backends.CronJobLabel, ref.Name)
	}
	// Kubernetes keeps Jobs triggered by hand out of status.active, and
	// takes their success as the last successful time.
	cj := e.waitCron(s, ref, "the last successful time", func(c *backends.CronJobStatus) bool { return c.LastSuccessfulTime != nil })
	if len(cj.Jobs) != 1 || cj.Jobs[0].Name != job.Name || !cj.Jobs[0].Manual || cj.Jobs[0].Phase != backends.Succeeded {
		e.t.Errorf("jobs %+v, want the one triggered, manual, Succeeded", cj.Jobs)
	}
	if len(cj.Active) != 0 || cj.LastScheduleTime != nil {
		e.t.Errorf("active %v, last schedule %v: a triggered job is neither", cj.Active, cj.LastScheduleTime)
	}
	named := ref.Name + "-by-hand"
	job2, err := s.TriggerCronJob(e.ctx, ref, named)
	if err != nil || job2.Name != named {
		e.t.Fatalf("TriggerCronJob named %s: %v, %+v", named, err, job2)
	}
	e.t.Cleanup(func() { _ = e.b.Delete(context.Background(), backends.Ref{Name: named, Namespace: job2.Namespace}) })
	if _, err := s.TriggerCronJob(e.ctx, ref, named); !errors.Is(err, backends.ErrAlreadyExists) {
		e.t.Errorf("second TriggerCronJob named %s: %v, want already exists", named, err)
	}
}

func testCronSchedules(e *env) {
	s := e.scheduler()
	start := time.Now()
	_, ref := e.submitCron(s, cronSpec{schedule: "* * * * *", job: jobSpec{script: "echo scheduled"}})
	// The controller creates the Job, then records the time in its status.
	cj := e.waitCron(s, ref, "a scheduled Job", func(c *backends.CronJobStatus) bool {
		return len(scheduled(c)) > 0 && c.LastScheduleTime != nil
	})
	run := scheduled(cj)[0]
	at := *run.ScheduledTime
	if at.Second() != 0 || at.Before(start.Truncate(time.Minute)) || at.After(start.Add(61*time.Second)) {
		e.t.Errorf("scheduled for %v: not the first whole minute after %v", at, start)
	}
	if d := time.Since(start); d > 75*time.Second {
		e.t.Errorf("the first run of an every-minute schedule came after %v", d)
	}
	if cj.LastScheduleTime == nil || !cj.LastScheduleTime.Equal(at) {
		e.t.Errorf("last schedule time %v, want %v", cj.LastScheduleTime, at)
	}
	if cj.NextScheduleTime == nil || !cj.NextScheduleTime.After(at) {
		e.t.Errorf("next schedule time %v, want after %v", cj.NextScheduleTime, at)
	}
	// No more runs: the rest of the case is about this one.
	if err := s.SuspendCronJob(e.ctx, ref, true); err != nil {
		e.t.Fatalf("SuspendCronJob: %v", err)
	}
	st, _ := e.finish(backends.Ref{Name: run.Name, Namespace: run.Namespace})
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	if !e.info.Capabilities.Native && e.info.Name != "local" {
		return // the platform names its runs itself
	}
	if want := fmt.Sprintf("%s-%d", ref.Name, at.Unix()/60); run.Name != want {
		e.t.Errorf("scheduled job %s, want %s (the scheduled time in minutes)", run.Name, want)
	}
}

func testCronForbid(e *env) {
	s := e.scheduler()
	e.need(e.info.Capabilities.CronForbid, "concurrencyPolicy Forbid")
	_, ref := e.submitCron(s, cronSpec{schedule: "@every 20s", concurrencyPolicy: "Forbid",
		job: jobSpec{script: "sleep 45", duration: "45s"}})
	cj := e.waitCron(s, ref, "a scheduled Job", func(c *backends.CronJobStatus) bool { return len(scheduled(c)) > 0 })
	first := scheduled(cj)[0]
	// Two more schedule times pass while it runs: no Job is created for
	// them while it runs. (Once it has ended, Kubernetes starts the most
	// recent missed run at once, unless startingDeadlineSeconds has passed;
	// Nomad never does: its report says so.)
	end, _ := e.finish(backends.Ref{Name: first.Name, Namespace: first.Namespace})
	cj = e.cronStatus(s, ref, true)
	for _, r := range scheduled(cj) {
		if r.UID != first.UID && r.CreationTime != nil && r.CreationTime.Before(end.CompletionTime.Add(-time.Second)) {
			e.t.Errorf("job %s was created at %v, while %s ran (until %v): Forbid skips a run while one is active",
				r.Name, r.CreationTime, first.Name, end.CompletionTime)
		}
	}
	// The controller records JobAlreadyActive for a skipped run, unless
	// the run falls in the minute of the active Job, whose name (the
	// scheduled minute) it then takes for that run's: not checked here.
}

func testCronReplace(e *env) {
	s := e.scheduler()
	e.need(e.info.Capabilities.CronReplace, "concurrencyPolicy Replace")
	_, ref := e.submitCron(s, cronSpec{schedule: "@every 20s", concurrencyPolicy: "Replace",
		job: jobSpec{script: "sleep 60", duration: "60s", grace: ptr[int64](1)}})
	cj := e.waitCron(s, ref, "a scheduled Job", func(c *backends.CronJobStatus) bool { return len(scheduled(c)) > 0 })
	first := scheduled(cj)[0]
	e.waitCron(s, ref, "the replacement", func(c *backends.CronJobStatus) bool {
		for _, r := range scheduled(c) {
			if r.UID != first.UID && !r.Phase.Terminal() {
				return true
			}
		}
		return false
	})
	e.eventually(30*time.Second, func() bool {
		st, err := e.b.Status(e.ctx, backends.Ref{Name: first.Name, Namespace: first.Namespace})
		return errors.Is(err, backends.ErrNotFound) || (err == nil && st.UID != first.UID)
	}, "the replaced job still exists")
	_ = s.SuspendCronJob(e.ctx, ref, true)
}

func testCronHistory(e *env) {
	s := e.scheduler()
	e.need(e.info.Capabilities.CronHistory, "history limits")
	_, ref := e.submitCron(s, cronSpec{schedule: yearly, successfulLimit: ptr[int32](1), failedLimit: ptr[int32](1),
		job: jobSpec{script: "echo kept"}})
	var names []string
	for range 3 {
		job, err := s.TriggerCronJob(e.ctx, ref, "")
		if err != nil {
			e.t.Fatalf("TriggerCronJob: %v", err)
		}
		names = append(names, job.Name)
		jref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
		e.t.Cleanup(func() { _ = e.b.Delete(context.Background(), jref) })
		e.finish(jref)
	}
	last := names[len(names)-1]
	e.eventually(60*time.Second, func() bool {
		cj := e.cronStatus(s, ref, false)
		return len(cj.Jobs) == 1 && cj.Jobs[0].Name == last
	}, fmt.Sprintf("successfulJobsHistoryLimit 1 keeps more than %s", last))
	for _, n := range names[:len(names)-1] {
		if _, err := e.b.Status(e.ctx, backends.Ref{Name: n, Namespace: ref.Namespace}); !errors.Is(err, backends.ErrNotFound) {
			e.t.Errorf("Status of pruned job %s: %v, want not found", n, err)
		}
	}
}

func testCronSuspend(e *env) {
	s := e.scheduler()
	st, ref := e.submitCron(s, cronSpec{schedule: "* * * * *", suspend: true, job: jobSpec{script: "true"}})
	if !st.Suspended || st.State != backends.CronSuspended || st.NextScheduleTime != nil {
		e.t.Errorf("submitted suspended: suspended %v state %s next %v", st.Suspended, st.State, st.NextScheduleTime)
	}
	if err := s.SuspendCronJob(e.ctx, ref, false); err != nil {
		e.t.Fatalf("resume: %v", err)
	}
	cj := e.cronStatus(s, ref, false)
	if cj.Suspended || cj.NextScheduleTime == nil || time.Until(*cj.NextScheduleTime) > 61*time.Second {
		e.t.Errorf("resumed: suspended %v next %v, want a run within the minute", cj.Suspended, cj.NextScheduleTime)
	}
	if err := s.SuspendCronJob(e.ctx, ref, true); err != nil {
		e.t.Fatalf("suspend: %v", err)
	}
	if err := s.SuspendCronJob(e.ctx, ref, true); err != nil {
		e.t.Errorf("suspending a suspended CronJob: %v, want a no-op", err)
	}
	cj = e.cronStatus(s, ref, false)
	if !cj.Suspended || cj.State != backends.CronSuspended {
		e.t.Errorf("suspended again: suspended %v state %s", cj.Suspended, cj.State)
	}
	// Kubernetes triggers a suspended CronJob's template all the same.
	job, err := s.TriggerCronJob(e.ctx, ref, "")
	if err != nil {
		e.t.Fatalf("TriggerCronJob of a suspended CronJob: %v", err)
	}
	jref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	e.t.Cleanup(func() { _ = e.b.Delete(context.Background(), jref) })
	if st, _ := e.finish(jref); st.Phase != backends.Succeeded {
		e.t.Errorf("triggered job ended %s", st.Phase)
	}
}

func testCronDelete(e *env) {
	s := e.scheduler()
	_, ref := e.submitCron(s, cronSpec{schedule: yearly, job: jobSpec{script: "sleep 30", duration: "30s"}})
	job, err := s.TriggerCronJob(e.ctx, ref, "")
	if err != nil {
		e.t.Fatalf("TriggerCronJob: %v", err)
	}
	jref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	e.wait(jref, func(st *backends.Status) bool { return st.Active > 0 || st.Phase.Terminal() })
	if err := s.DeleteCronJob(e.ctx, ref); err != nil {
		e.t.Fatalf("DeleteCronJob: %v", err)
	}
	if _, err := s.CronJobStatus(e.ctx, ref, false); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("CronJobStatus after delete: %v, want not found", err)
	}
	e.eventually(30*time.Second, func() bool {
		_, err := e.b.Status(e.ctx, jref)
		return errors.Is(err, backends.ErrNotFound)
	}, "the deleted CronJob's job is still there")
	if err := s.DeleteCronJob(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("second DeleteCronJob: %v, want not found", err)
	}
}

func testCronNotFound(e *env) {
	s := e.scheduler()
	ref := backends.Ref{Name: cronName(e.t), Namespace: e.opt.Namespace}
	if _, err := s.CronJobStatus(e.ctx, ref, true); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("CronJobStatus: %v, want not found", err)
	}
	if err := s.DeleteCronJob(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("DeleteCronJob: %v, want not found", err)
	}
	if _, err := s.TriggerCronJob(e.ctx, ref, ""); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("TriggerCronJob: %v, want not found", err)
	}
	if err := s.SuspendCronJob(e.ctx, ref, true); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("SuspendCronJob: %v, want not found", err)
	}
	if err := s.WatchCronJob(e.ctx, ref, func(*backends.CronJobStatus) bool { return true }); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("WatchCronJob: %v, want not found", err)
	}
}

func testCronAlreadyExists(e *env) {
	s := e.scheduler()
	c := cronSpec{schedule: yearly, job: jobSpec{script: "true"}}
	first, _ := e.submitCron(s, c)
	c.name, c.labels = first.Name, map[string]string{}
	cj, err := jobspec.ParseCronJob("again.yaml", strings.NewReader(c.manifest(e.opt.Namespace)))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := s.SubmitCronJob(e.ctx, cj); !errors.Is(err, backends.ErrAlreadyExists) {
		e.t.Errorf("second SubmitCronJob: %v, want already exists", err)
	}
}

func testCronList(e *env) {
	s := e.scheduler()
	base := cronName(e.t)
	e.submitCron(s, cronSpec{name: base[:len(base)-1] + "b", schedule: yearly, labels: map[string]string{"batchctl.dev/case": base, "role": "b"}, job: jobSpec{script: "true"}})
	e.submitCron(s, cronSpec{name: base[:len(base)-1] + "a", schedule: yearly, labels: map[string]string{"batchctl.dev/case": base, "role": "a"}, job: jobSpec{script: "true"}})
	for sel, want := range map[string]string{
		"batchctl.dev/case=" + base:             base[:len(base)-1] + "a " + base[:len(base)-1] + "b",
		"batchctl.dev/case=" + base + ",role=b": base[:len(base)-1] + "b",
	} {
		selector, err := backends.ParseSelector(sel)
		if err != nil {
			e.t.Fatal(err)
		}
		cjs, err := s.ListCronJobs(e.ctx, backends.ListOptions{Namespace: e.opt.Namespace, Selector: selector})
		if err != nil {
			e.t.Fatalf("ListCronJobs %q: %v", sel, err)
		}
		var names []string
		for _, cj := range cjs {
			e.checkCron(cj)
			names = append(names, cj.Name)
			if cj.Labels[backends.ManagedByLabel] != backends.ManagedByValue {
				e.t.Errorf("listed cronjob %s has labels %v, want %s=%s", cj.Name, cj.Labels, backends.ManagedByLabel, backends.ManagedByValue)
			}
		}
		if got := strings.Join(names, " "); got != want {
			e.t.Errorf("ListCronJobs %q = [%s], want [%s]", sel, got, want)
		}
	}
}
