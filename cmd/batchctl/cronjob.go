package main

// CronJobs in the CLI: submit, render and validate read them from the same
// files as Jobs; status, describe, delete, logs, suspend, resume and wait
// take `cronjob/NAME` (or a bare NAME that names no Job); list shows them
// beside the Jobs; trigger (trigger.go) makes a Job from one now.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

const cronJobStatusKind = "CronJobStatus"

// versionedCronJob is a CronJobStatus as printed: apiVersion and kind first.
type versionedCronJob struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	*backends.CronJobStatus
}

func versionedCron(st *backends.CronJobStatus) versionedCronJob {
	return versionedCronJob{APIVersion: outputAPIVersion, Kind: cronJobStatusKind, CronJobStatus: st}
}

// loadJobsOrCron reads a manifest argument: the Jobs it holds, or its one
// CronJob (a file with a CronJob holds only it).
func loadJobsOrCron(path string, stdin io.Reader) ([]*jobspec.Job, *jobspec.CronJob, error) {
	ms, err := jobspec.LoadManifests(path, stdin)
	var list jobspec.ErrorList
	if err != nil && !errors.As(err, &list) {
		return nil, nil, usageError{err.Error()}
	}
	if err != nil {
		return nil, nil, err
	}
	var jobs []*jobspec.Job
	var cron *jobspec.CronJob
	for _, m := range ms {
		if m.CronJob != nil {
			cron = m.CronJob
		} else {
			jobs = append(jobs, m.Job)
		}
	}
	if cron != nil && len(ms) > 1 {
		return nil, nil, usagef("%s: a file with a CronJob holds only it (this one holds %d objects)", cron.Source, len(ms))
	}
	return jobs, cron, nil
}

// loadManifests reads every Job and CronJob of a manifest argument.
func loadManifests(path string, stdin io.Reader) ([]jobspec.Manifest, error) {
	ms, err := jobspec.LoadManifests(path, stdin)
	var list jobspec.ErrorList
	if err != nil && !errors.As(err, &list) {
		return nil, usageError{err.Error()}
	}
	return ms, err
}

// manifestName is where a manifest came from and its names.
func manifestName(m jobspec.Manifest) (source, name, generateName string) {
	if m.CronJob != nil {
		return m.CronJob.Source, m.CronJob.Name, m.CronJob.GenerateName
	}
	return m.Job.Source, m.Job.Name, m.Job.GenerateName
}

// schedulerOf is b as a Scheduler, or why not.
func schedulerOf(b backends.Backend, op string, ref backends.Ref) (backends.Scheduler, error) {
	if s, ok := b.(backends.Scheduler); ok && b.Info().Capabilities.CronJobs {
		return s, nil
	}
	return nil, &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: fmt.Sprintf("the %s backend cannot run CronJobs", b.Info().Name)}
}

// Kinds of object an argument names.
const (
	kindAny     = ""
	kindJob     = "job"
	kindCronJob = "cronjob"
)

// splitKind reads a `cronjob/` (cronjobs/, cj/, cronjob.batch/) or `job/`
// prefix off an argument.
func splitKind(arg string) (kind, rest string) {
	for _, p := range []string{"cronjob/", "cronjobs/", "cj/", "cronjob.batch/", "cronjobs.batch/"} {
		if r, ok := strings.CutPrefix(arg, p); ok {
			return kindCronJob, r
		}
	}
	for _, p := range []string{"job/", "jobs/", "job.batch/", "jobs.batch/"} {
		if r, ok := strings.CutPrefix(arg, p); ok {
			return kindJob, r
		}
	}
	return kindAny, arg
}

// isCronArg: the argument names a CronJob explicitly.
func isCronArg(arg string) bool {
	k, _ := splitKind(arg)
	return k == kindCronJob
}

// cronRef is the CronJob an argument names.
func cronRef(arg string, s settings) backends.Ref {
	_, rest := splitKind(arg)
	return refFor(rest, s)
}

// cronFallback reports whether a Job lookup that failed with err should
// try a CronJob of that name: the argument named no kind and the backend
// runs CronJobs.
func cronFallback(arg string, b backends.Backend, err error) bool {
	k, _ := splitKind(arg)
	_, ok := b.(backends.Scheduler)
	return k == kindAny && ok && b.Info().Capabilities.CronJobs && errors.Is(err, backends.ErrNotFound)
}

// cronName is how a CronJob is printed for piping back into batchctl.
func cronName(st *backends.CronJobStatus, s settings, info backends.Info) string {
	return "cronjob/" + jobArg(&backends.Status{Name: st.Name, Namespace: st.Namespace}, s, info)
}

// submitCron is submit of a CronJob. A CronJob never finishes: --wait and
// --follow belong to trigger, or to `wait cronjob/NAME`.
func submitCron(c *cli.Context, b backends.Backend, s settings, cj *jobspec.CronJob, format, mode string) error {
	if c.Bool("wait") || c.Bool("follow") {
		return usagef("submit: a CronJob does not finish; `batchctl trigger --wait %s` runs one now, `batchctl wait %s` waits for its next run", cj, cj)
	}
	ref := backends.Ref{Name: cj.Name, Namespace: cj.Namespace}
	sch, err := schedulerOf(b, "submit", ref)
	if err != nil {
		return err
	}
	if err := applyOverridesTo(c, cj, cj.Namespace, s); err != nil {
		return err
	}
	ifExists := c.String("if-exists")
	if err := checkOutput(ifExists, "fail", "replace"); err != nil {
		return usagef("--if-exists %q: a CronJob takes fail or replace", ifExists)
	}
	r, err := sch.RenderCronJob(cj)
	if err != nil {
		return err
	}
	if err := reportFidelity(c.App.ErrWriter, b.Info().Name, r.Fidelity, c.Bool("strict"), allowApproximate(c, s), quietNotes(c, s), true); err != nil {
		return err
	}
	if mode != dryRunNone {
		if mode == dryRunServer {
			return usagef("--dry-run=server: not for CronJobs yet; --dry-run=client checks what can be checked here")
		}
		if ok, err := writeStructured(c.App.Writer, format, r.Native); ok {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s created (dry run)\n", cj)
		return nil
	}
	verb := "created"
	st, err := sch.SubmitCronJob(c.Context, cj)
	if errors.Is(err, backends.ErrAlreadyExists) && ifExists == "replace" && cj.Name != "" {
		ref.Namespace = s.Namespace
		if cj.Namespace != "" {
			ref.Namespace = cj.Namespace
		}
		if err := sch.DeleteCronJob(c.Context, ref); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
		if err := waitCronGone(c.Context, sch, ref, 0); err != nil {
			return err
		}
		verb = "replaced"
		st, err = sch.SubmitCronJob(c.Context, cj)
	}
	if err != nil {
		return err
	}
	switch {
	case c.Bool("quiet") || format == outName:
		fmt.Fprintln(c.App.Writer, cronName(st, s, b.Info()))
	case format == "":
		fmt.Fprintf(c.App.Writer, "%s %s\n", cronName(st, s, b.Info()), verb)
	default:
		return writeCronStatuses(c, s, b.Info(), format, []*backends.CronJobStatus{st}, false)
	}
	return nil
}

// renderCron prints the native object of a CronJob and the fidelity report.
func renderCron(c *cli.Context, b backends.Backend, s settings, cj *jobspec.CronJob, format string) error {
	sch, err := schedulerOf(b, "render", backends.Ref{Name: cj.Name})
	if err != nil {
		return err
	}
	if err := applyOverridesTo(c, cj, cj.Namespace, s); err != nil {
		return err
	}
	r, err := sch.RenderCronJob(cj)
	if err != nil {
		return err
	}
	if format == "" {
		format = b.Info().NativeFormat
	}
	if format == outJSON {
		err = writeJSON(c.App.Writer, r.Native)
	} else {
		err = writeYAML(c.App.Writer, r.Native)
	}
	if err != nil {
		return err
	}
	if len(r.Fidelity) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s: every field is honoured\n", b.Info().Name)
	}
	return reportFidelity(c.App.ErrWriter, b.Info().Name, r.Fidelity, c.Bool("strict"), allowApproximate(c, s), s.Bool(backends.QuietNotesKey), false)
}

// cronStatusOf reads the CronJob arg names, for status and describe; ok is
// false when arg names a Job (or nothing of that name runs here as a
// CronJob and it did not say cronjob/), leaving the Job path to say so.
func cronStatusOf(c *cli.Context, b backends.Backend, s settings, arg string, detail bool, jobErr error) (*backends.CronJobStatus, bool, error) {
	if !isCronArg(arg) && !cronFallback(arg, b, jobErr) {
		return nil, false, nil
	}
	ref := cronRef(arg, s)
	sch, err := schedulerOf(b, commandPath(c), ref)
	if err != nil {
		return nil, true, err
	}
	st, err := sch.CronJobStatus(c.Context, ref, detail)
	if err != nil && !isCronArg(arg) {
		// Neither (or CronJobs out of reach: a token that may read only
		// Jobs): say the job is not found.
		return nil, true, jobErr
	}
	return st, true, err
}

// cronExists reports whether a bare NAME that names no Job names a
// CronJob, for the commands that change what they find.
func cronExists(c *cli.Context, b backends.Backend, s settings, arg string, jobErr error) bool {
	if !cronFallback(arg, b, jobErr) {
		return false
	}
	_, _, err := cronStatusOf(c, b, s, arg, false, jobErr)
	return err == nil
}

// showCron is status of a CronJob: its row, then its Jobs.
func showCron(c *cli.Context, b backends.Backend, s settings, arg, format string, watch bool) error {
	if watch {
		return watchCronStatus(c, b, s, arg, format)
	}
	st, _, err := cronStatusOf(c, b, s, arg, false, nil)
	if err != nil {
		return err
	}
	return writeCronStatuses(c, s, b.Info(), format, []*backends.CronJobStatus{st}, true)
}

// showCronOr is status of the CronJob a bare NAME names when no Job does,
// else the Job's error; with --watch it follows the CronJob.
func showCronOr(c *cli.Context, b backends.Backend, s settings, arg, format string, jobErr error) error {
	st, _, err := cronStatusOf(c, b, s, arg, false, jobErr)
	if err != nil {
		return err
	}
	if c.Bool("watch") {
		return watchCronStatus(c, b, s, "cronjob/"+arg, format)
	}
	return writeCronStatuses(c, s, b.Info(), format, []*backends.CronJobStatus{st}, true)
}

// watchCronStatus prints the CronJob on every change until interrupted.
func watchCronStatus(c *cli.Context, b backends.Backend, s settings, arg, format string) error {
	ref := cronRef(arg, s)
	sch, err := schedulerOf(b, "status", ref)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var werr error
	first := true
	err = sch.WatchCronJob(ctx, ref, func(st *backends.CronJobStatus) bool {
		switch format {
		case outJSON:
			werr = compactJSON(c.App.Writer, versionedCron(st))
		case outYAML:
			if !first {
				fmt.Fprintln(c.App.Writer, "---")
			}
			werr = writeYAML(c.App.Writer, versionedCron(st))
		default:
			if !first {
				fmt.Fprintln(c.App.Writer)
			}
			werr = writeCronStatuses(c, s, b.Info(), format, []*backends.CronJobStatus{st}, true)
		}
		first = false
		return werr != nil
	})
	if werr != nil {
		return werr
	}
	if ctx.Err() != nil && c.Context.Err() == nil {
		return interruptedError{"interrupted"}
	}
	return err
}

// writeCronStatuses prints CronJobs in format; withJobs adds, to a table,
// each one's Jobs.
func writeCronStatuses(c *cli.Context, s settings, info backends.Info, format string, sts []*backends.CronJobStatus, withJobs bool) error {
	w := c.App.Writer
	switch format {
	case outJSON:
		return writeJSON(w, versionedCron(sts[0]))
	case outYAML:
		return writeYAML(w, versionedCron(sts[0]))
	case outName:
		for _, st := range sts {
			fmt.Fprintln(w, cronName(st, s, info))
		}
		return nil
	}
	if err := writeCronTable(w, sts, format == outWide); err != nil {
		return err
	}
	for _, st := range sts {
		if st.Message != "" && !s.Bool(backends.QuietNotesKey) {
			fmt.Fprintf(c.App.ErrWriter, "cronjob/%s: %s\n", st.Name, st.Message)
		}
	}
	if !withJobs || len(sts) != 1 || len(sts[0].Jobs) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return writeCronRuns(w, sts[0].Jobs, "")
}

// writeCronTable is kubectl get cronjob's table, with the next run.
func writeCronTable(w io.Writer, sts []*backends.CronJobStatus, wide bool) error {
	tw := tabwriter.NewWriter(w, 3, 8, 3, ' ', 0)
	now := time.Now()
	if wide {
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tBACKEND\tSTATE\tSCHEDULE\tTIMEZONE\tCONCURRENCY\tSUSPEND\tACTIVE\tLAST SCHEDULE\tLAST SUCCESS\tNEXT RUN\tAGE")
	} else {
		fmt.Fprintln(tw, "NAME\tSCHEDULE\tTIMEZONE\tSUSPEND\tACTIVE\tLAST SCHEDULE\tNEXT RUN\tAGE")
	}
	for _, st := range sts {
		tz := st.TimeZone
		if tz == "" {
			tz = "<none>"
		}
		suspend := "False"
		if st.Suspended {
			suspend = "True"
		}
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", st.Namespace, st.Name, st.Backend, st.State,
				st.Schedule, tz, st.ConcurrencyPolicy, suspend, len(st.Active), ago(st.LastScheduleTime, now), ago(st.LastSuccessfulTime, now),
				until(st.NextScheduleTime, now), ago(st.CreationTime, now))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", st.Name, st.Schedule, tz, suspend, len(st.Active),
				ago(st.LastScheduleTime, now), until(st.NextScheduleTime, now), ago(st.CreationTime, now))
		}
	}
	return tw.Flush()
}

// writeCronRuns is the table of a CronJob's Jobs, each line after indent.
func writeCronRuns(w io.Writer, runs []backends.CronJobRun, indent string) error {
	tw := tabwriter.NewWriter(w, 3, 8, 3, ' ', 0)
	fmt.Fprintf(tw, "%sJOB\tPHASE\tSCHEDULED\tCOMPLETIONS\tDURATION\tAGE\tREASON\n", indent)
	now := time.Now()
	for _, r := range runs {
		when := "by hand"
		if r.ScheduledTime != nil {
			when = r.ScheduledTime.Format(time.RFC3339)
		}
		st := r.Status
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", indent, r.Name, r.Phase, when, r.Succeeded, r.Completions,
			duration(&st, now), age(&st, now), orDash(r.Reason))
	}
	return tw.Flush()
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "<none>"
	}
	return shortDuration(now.Sub(*t)) + " ago"
}

func until(t *time.Time, now time.Time) string {
	if t == nil {
		return "<none>"
	}
	return "in " + shortDuration(t.Sub(now).Truncate(time.Second))
}

// describeCronOf is describe of the CronJob arg names.
func describeCronOf(c *cli.Context, b backends.Backend, s settings, arg, format string, jobErr error) error {
	st, _, err := cronStatusOf(c, b, s, arg, true, jobErr)
	if err != nil {
		return err
	}
	if ok, err := writeStructured(c.App.Writer, format, versionedCron(st)); ok {
		return err
	}
	return describeCron(c.App.Writer, st)
}

// describeCron prints a CronJob in detail: its fields, its Jobs, its events.
func describeCron(w io.Writer, st *backends.CronJobStatus) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	now := time.Now()
	field("Name", st.Name)
	field("Namespace", st.Namespace)
	field("Kind", "CronJob")
	field("Backend", st.Backend)
	field("State", string(st.State))
	if st.Reason != "" {
		field("Reason", st.Reason)
	}
	sched := st.Schedule
	if st.TimeZone != "" {
		sched += " (time zone " + st.TimeZone + ")"
	}
	field("Schedule", sched)
	field("Concurrency Policy", st.ConcurrencyPolicy)
	field("Suspend", fmt.Sprint(st.Suspended))
	deadline := "<unset>"
	if st.StartingDeadlineSeconds != nil {
		deadline = fmt.Sprintf("%ds", *st.StartingDeadlineSeconds)
	}
	field("Starting Deadline", deadline)
	field("History Limits", fmt.Sprintf("%d succeeded, %d failed", st.SuccessfulJobsHistoryLimit, st.FailedJobsHistoryLimit))
	field("Last Schedule Time", timeAgo(st.LastScheduleTime, now))
	field("Last Successful Time", timeAgo(st.LastSuccessfulTime, now))
	next := "<none>"
	if st.NextScheduleTime != nil {
		next = st.NextScheduleTime.Format(time.RFC3339) + " (" + until(st.NextScheduleTime, now) + ")"
	}
	field("Next Run", next)
	active := "<none>"
	if len(st.Active) > 0 {
		active = strings.Join(st.Active, ", ")
	}
	field("Active Jobs", active)
	field("Scheduler", st.Scheduler)
	if st.Message != "" {
		field("Message", st.Message)
	}
	field("Created", timeAgo(st.CreationTime, now))
	field("Labels", labelList(st.Labels))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nJobs:")
	if len(st.Jobs) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else if err := writeCronRuns(w, st.Jobs, "  "); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nEvents:")
	if len(st.Events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tTYPE\tREASON\tMESSAGE")
	for _, e := range st.Events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Type, e.Reason, e.Message)
	}
	return tw.Flush()
}

func timeAgo(t *time.Time, now time.Time) string {
	if t == nil {
		return "<none>"
	}
	return t.Format(time.RFC3339) + " (" + ago(t, now) + ")"
}

// deleteCron deletes a CronJob and its Jobs; with wait, until gone.
func deleteCron(c *cli.Context, b backends.Backend, ref backends.Ref, wait bool, timeout time.Duration) error {
	sch, err := schedulerOf(b, "delete", ref)
	if err != nil {
		return err
	}
	if err := sch.DeleteCronJob(c.Context, ref); err != nil {
		return err
	}
	if wait {
		return waitCronGone(c.Context, sch, ref, timeout)
	}
	return nil
}

// waitCronGone watches ref until the CronJob is gone.
func waitCronGone(ctx context.Context, sch backends.Scheduler, ref backends.Ref, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := sch.WatchCronJob(ctx, ref, func(*backends.CronJobStatus) bool { return false })
	switch {
	case errors.Is(err, backends.ErrNotFound):
		return nil
	case ctx.Err() != nil:
		return timeoutError{fmt.Sprintf("cronjob %s still exists after %s", ref.Name, timeout)}
	}
	return err
}

// suspendCron is suspend or resume of a CronJob.
func suspendCron(c *cli.Context, b backends.Backend, ref backends.Ref, verb string) error {
	sch, err := schedulerOf(b, verb, ref)
	if err != nil {
		return err
	}
	if err := sch.SuspendCronJob(c.Context, ref, verb == "suspend"); err != nil {
		return err
	}
	if !c.Bool("quiet") {
		fmt.Fprintf(c.App.Writer, "cronjob/%s %s\n", ref.Name, strings.TrimSuffix(verb, "e")+"ed")
	}
	return nil
}

// latestRun is the most recent Job of the CronJob arg names, for logs.
func latestRun(c *cli.Context, b backends.Backend, s settings, arg string, jobErr error) (*backends.Status, bool, error) {
	st, ok, err := cronStatusOf(c, b, s, arg, false, jobErr)
	if !ok || err != nil {
		return nil, ok, err
	}
	if len(st.Jobs) == 0 {
		return nil, true, &backends.Error{Kind: backends.ErrNotFound, Op: "logs", Ref: backends.Ref{Name: st.Name, Namespace: st.Namespace},
			Msg: fmt.Sprintf("cronjob %s has no Job yet (next run: %s)", st.Name, until(st.NextScheduleTime, time.Now()))}
	}
	runs := append([]backends.CronJobRun(nil), st.Jobs...)
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i].CreationTime, runs[j].CreationTime
		return a != nil && b != nil && a.Before(*b)
	})
	last := runs[len(runs)-1].Status
	fmt.Fprintf(c.App.ErrWriter, "logs of job/%s, the most recent of cronjob/%s\n", last.Name, st.Name)
	return &last, true, nil
}

// waitCron waits for the next Job of a CronJob (nextCronJob), then for
// its outcome. -o prints the Job's final status.
func waitCron(c *cli.Context, b backends.Backend, s settings, arg, format string) error {
	ctx, cancel := waitContext(c)
	defer cancel()
	next, err := nextCronJob(ctx, c, b, s, arg)
	if err != nil {
		return err
	}
	jref := backends.Ref{Name: next.Name, Namespace: next.Namespace}
	remaining := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		remaining = max(time.Until(dl), time.Millisecond)
	}
	st, err := waitJob(c.Context, b, jref, remaining, c.App.ErrWriter)
	if st != nil && format != "" {
		if werr := newStatusWriter(c, format, s, b.Info()).one(st); werr != nil {
			return werr
		}
	}
	return err
}

// waitContext is the context of a wait: until --timeout (errTimedOut) or
// Ctrl-C.
func waitContext(c *cli.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	if t := c.Duration("timeout"); t > 0 {
		tctx, cancel := context.WithTimeoutCause(ctx, t, errTimedOut)
		return tctx, func() { cancel(); stop() }
	}
	return ctx, stop
}

// nextCronJob watches the CronJob arg names until it has a Job it did not
// have when the watch began (a scheduled run, or one triggered by hand),
// and says so on stderr.
func nextCronJob(ctx context.Context, c *cli.Context, b backends.Backend, s settings, arg string) (*backends.CronJobRun, error) {
	ref := cronRef(arg, s)
	sch, err := schedulerOf(b, "wait", ref)
	if err != nil {
		return nil, err
	}
	var seen map[string]bool
	var next *backends.CronJobRun
	var last *backends.CronJobStatus
	err = sch.WatchCronJob(ctx, ref, func(st *backends.CronJobStatus) bool {
		last = st
		if seen == nil {
			seen = map[string]bool{}
			for _, r := range st.Jobs {
				seen[r.UID] = true
			}
			return false
		}
		for _, r := range st.Jobs {
			if !seen[r.UID] {
				next = &r
				return true
			}
		}
		return false
	})
	if next != nil {
		fmt.Fprintf(c.App.ErrWriter, "cronjob/%s created job/%s\n", ref.Name, next.Name)
		return next, nil
	}
	if ctx.Err() != nil && c.Context.Err() == nil {
		nextRun := ""
		if last != nil {
			nextRun = "; its next run is " + until(last.NextScheduleTime, time.Now())
		}
		if errors.Is(context.Cause(ctx), errTimedOut) {
			return nil, timeoutError{fmt.Sprintf("timed out after %s waiting for a Job of cronjob %s%s", c.Duration("timeout"), ref.Name, nextRun)}
		}
		return nil, interruptedError{fmt.Sprintf("interrupted waiting for a Job of cronjob %s%s", ref.Name, nextRun)}
	}
	return nil, err
}

// waitFor is wait --for: delete, until every named Job or CronJob is gone;
// create, until the named CronJob creates its next Job (-o name prints it);
// suspended, until every named Job is suspended with no pod left.
func waitFor(c *cli.Context, b backends.Backend, s settings, cond, format string) error {
	switch {
	case cond == "create" && (c.NArg() != 1 || !isCronArg(c.Args().First())):
		return usagef("wait --for create: name one cronjob/NAME, whose next Job to wait for")
	case cond == "create":
		ctx, cancel := waitContext(c)
		defer cancel()
		next, err := nextCronJob(ctx, c, b, s, c.Args().First())
		if err != nil {
			return err
		}
		if format != "" {
			return newStatusWriter(c, format, s, b.Info()).one(&next.Status)
		}
		return nil
	case cond == "suspended" || cond == "condition=Suspended":
		return waitSuspended(c, b, s)
	case cond != "delete":
		return usagef("wait --for %q: want delete, create or suspended", cond)
	case c.NArg() == 0:
		return usagef("wait --for delete: name the jobs (NAME..., cronjob/NAME)")
	}
	for _, arg := range c.Args().Slice() {
		ref := refFor(arg, s)
		var err error
		if isCronArg(arg) {
			var sch backends.Scheduler
			if sch, err = schedulerOf(b, "wait", ref); err == nil {
				err = waitCronGone(c.Context, sch, ref, c.Duration("timeout"))
			}
		} else {
			err = waitGone(c.Context, b, ref, c.Duration("timeout"))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// listCronJobs lists the CronJobs, when the backend runs them.
func listCronJobs(c *cli.Context, b backends.Backend, opts backends.ListOptions) ([]*backends.CronJobStatus, error) {
	sch, ok := b.(backends.Scheduler)
	if !ok || !b.Info().Capabilities.CronJobs {
		return nil, nil
	}
	return sch.ListCronJobs(c.Context, opts)
}

// parseKinds reads list --kind: job, cronjob, or both (comma-separated).
func parseKinds(s string) (jobs, crons bool, err error) {
	if strings.TrimSpace(s) == "" {
		return true, true, nil
	}
	for _, k := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "job", "jobs":
			jobs = true
		case "cronjob", "cronjobs", "cj":
			crons = true
		case "":
		default:
			return false, false, usagef("--kind %q: want Job or CronJob", k)
		}
	}
	return jobs, crons, nil
}

// writeMixed prints Jobs and CronJobs in one list: a KIND column in the
// tables; JSON and YAML arrays of both kinds of status.
func writeMixed(c *cli.Context, sw statusWriter, s settings, info backends.Info, format string, jobs []*backends.Status, crons []*backends.CronJobStatus) error {
	w := c.App.Writer
	switch format {
	case outJSON, outYAML:
		items := []any{}
		for _, cj := range crons {
			items = append(items, versionedCron(cj))
		}
		for _, st := range jobs {
			items = append(items, versioned(st))
		}
		if format == outJSON {
			return writeJSON(w, items)
		}
		return writeYAML(w, items)
	case outName:
		for _, cj := range crons {
			fmt.Fprintln(w, cronName(cj, s, info))
		}
		for _, st := range jobs {
			fmt.Fprintf(w, "job/%s\n", sw.name(st))
		}
		return nil
	}
	wide := format == outWide
	tw := tabwriter.NewWriter(w, 3, 8, 3, ' ', 0)
	if wide {
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tKIND\tBACKEND\tPHASE\tCOMPLETIONS\tACTIVE\tFAILED\tPARALLELISM\tDURATION\tAGE\tREASON\tNEXT")
	} else {
		fmt.Fprintln(tw, "NAME\tKIND\tPHASE\tCOMPLETIONS\tDURATION\tAGE")
	}
	now := time.Now()
	for _, cj := range crons {
		created := &backends.Status{CreationTime: cj.CreationTime}
		if wide {
			fmt.Fprintf(tw, "%s\t%s\tCronJob\t%s\t%s\t-\t%d\t-\t-\t-\t%s\t%s\t%s\n", cj.Namespace, cj.Name, cj.Backend, cj.State,
				len(cj.Active), age(created, now), orDash(cj.Reason), strings.TrimPrefix(until(cj.NextScheduleTime, now), "<none>"))
		} else {
			fmt.Fprintf(tw, "%s\tCronJob\t%s\t-\t-\t%s\n", cj.Name, cj.State, age(created, now))
		}
	}
	for _, st := range jobs {
		comp := fmt.Sprintf("%d/%d", st.Succeeded, st.Completions)
		if wide {
			next := "-"
			if st.NextRetry != nil && !st.Phase.Terminal() {
				next = "in " + shortDuration(st.NextRetry.Sub(now).Truncate(time.Second))
			}
			fmt.Fprintf(tw, "%s\t%s\tJob\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", st.Namespace, st.Name, st.Backend, st.Phase, comp,
				st.Active, st.Failed, st.Parallelism, duration(st, now), age(st, now), orDash(st.Reason), next)
		} else {
			fmt.Fprintf(tw, "%s\tJob\t%s\t%s\t%s\t%s\n", st.Name, st.Phase, comp, duration(st, now), age(st, now))
		}
	}
	return tw.Flush()
}
