package nomad

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/croncontroller"
	"github.com/batchctl/batchctl/jobspec"
)

// A CronJob is a Nomad periodic batch job: the job template translated as a
// Job is (translate.go), plus a periodic block: cron (the schedule, macros
// and @every written out as Nomad's cron library reads them), time_zone,
// prohibit_overlap for Forbid, enabled: false while suspended. Nomad's
// periodic dispatcher launches each run as a child job,
// "<name>/periodic-<unix time>", a copy of the parent and so judged as any
// Job is. A Job triggered by hand (TriggerCronJob) is an ordinary batch job
// from the template, as kubectl makes one: it does not count for
// prohibit_overlap, as it does not count for Forbid in Kubernetes.
//
// What Nomad cannot honour is in the fidelity report: Replace, the
// starting deadline, a Forbid run made up once the active one ends; the
// history limits batchctl applies itself whenever it reads the CronJob.

var _ backends.Scheduler = (*backend)(nil)

// metaCronJob holds the CronJob as submitted (gzip'd JSON, base64): its
// own labels, policy, limits and template, for status and trigger.
const metaCronJob = metaPrefix + "cronjob"

func (b *backend) RenderCronJob(cj *jobspec.CronJob) (*backends.Rendering, error) {
	nj, fid, err := b.translateCron(cj, cronID(cj), "render")
	if err != nil {
		return nil, err
	}
	return &backends.Rendering{Native: Rendered{Job: nj}, Fidelity: fid}, nil
}

// cronID is the periodic job's ID: the name, or generateName plus 5
// random characters.
func cronID(cj *jobspec.CronJob) string {
	if cj.Name != "" {
		return cj.Name
	}
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	s := []byte(cj.GenerateName)
	for range 5 {
		s = append(s, alphabet[rand.IntN(len(alphabet))])
	}
	return string(s)
}

// translateCron is translate for a CronJob: its template as the job, with
// the periodic block, and what the schedule cannot do on Nomad.
func (b *backend) translateCron(cj *jobspec.CronJob, id, op string) (*api.Job, []backends.Fidelity, error) {
	ref := backends.Ref{Name: id, Namespace: b.namespaceOf(cj.Template)}
	if cj.Namespace != "" {
		ref.Namespace = cj.Namespace
	}
	invalid := func(format string, args ...any) error {
		return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: fmt.Sprintf(format, args...)}
	}
	tmpl := cj.JobNamed(id)
	tmpl.Namespace = cj.Namespace
	nj, tfid, err := b.translate(tmpl, id, op)
	if err != nil {
		var be *backends.Error
		if errors.As(err, &be) && !strings.HasPrefix(be.Msg, "spec.jobTemplate.") && strings.HasPrefix(be.Msg, "spec.") {
			be.Msg = "spec.jobTemplate." + be.Msg
		}
		return nil, nil, err
	}
	var fid []backends.Fidelity
	for _, f := range tfid {
		f.Field = "spec.jobTemplate." + f.Field
		fid = append(fid, f)
	}
	spec, note, err := nomadSchedule(cj.Schedule, cj.TimeZone)
	if err != nil {
		return nil, nil, invalid("spec.schedule: %v", err)
	}
	if note != "" {
		fid = append(fid, backends.Fidelity{Field: "spec.schedule", Level: backends.Approximated, Message: note})
	}
	enabled := !cj.Suspend
	nj.Periodic = &api.PeriodicConfig{Enabled: &enabled, Spec: &spec, SpecType: ptr(api.PeriodicSpecCron),
		ProhibitOverlap: ptr(cj.ConcurrencyPolicy == batchv1.ForbidConcurrent)}
	if cj.TimeZone != "" {
		nj.Periodic.TimeZone = ptr(cj.TimeZone)
	} else {
		fid = append(fid, backends.Fidelity{Field: "spec.timeZone", Level: backends.Note,
			Message: "unset: Nomad schedules in UTC, where Kubernetes uses kube-controller-manager's time zone"})
	}
	delete(nj.Meta, metaCreated) // each run is created when Nomad launches it
	if op == "submit" {
		nj.Meta[metaCronCreated] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	nj.Meta[backends.CronJobLabel] = id
	enc, err := encodeCronJob(cj.Object, id)
	if err != nil {
		return nil, nil, err
	}
	nj.Meta[metaCronJob] = enc
	switch cj.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		fid = append(fid, backends.Fidelity{Field: "spec.concurrencyPolicy", Level: backends.Approximated,
			Message: "Forbid is Nomad's prohibit_overlap: a run is skipped while one the schedule launched runs, but not made up when it ends, where Kubernetes then starts the most recent missed run (unless startingDeadlineSeconds has passed)"})
	case batchv1.ReplaceConcurrent:
		fid = append(fid, backends.Fidelity{Field: "spec.concurrencyPolicy", Level: backends.Unsupported, Outcome: true,
			Message: "Nomad cannot replace a running job with the next run: both run, as with Allow, where Kubernetes deletes the running Job (which then has no outcome)"})
	}
	if cj.StartingDeadlineSeconds != nil {
		fid = append(fid, backends.Fidelity{Field: "spec.startingDeadlineSeconds", Level: backends.Approximated,
			Message: fmt.Sprintf("Nomad launches a missed run only when its leader changes, however late; the %ds deadline does not apply, and a run missed otherwise is not made up", *cj.StartingDeadlineSeconds)})
	}
	fid = append(fid, backends.Fidelity{Field: "spec.successfulJobsHistoryLimit", Level: backends.Emulated,
		Message: fmt.Sprintf("Nomad keeps launched jobs until its job garbage collection; batchctl purges the oldest finished ones beyond %d succeeded and %d failed whenever it reads the CronJob (status, describe, logs, trigger)",
			cj.SuccessfulJobsHistoryLimit, cj.FailedJobsHistoryLimit)})
	fid = append(fid, cronUnmodelled(cj)...)
	backends.SortFidelity(fid)
	return nj, fid, nil
}

// cronUnmodelled reports the CronJob's own fields the model leaves out.
func cronUnmodelled(cj *jobspec.CronJob) []backends.Fidelity {
	var fs []backends.Fidelity
	for _, path := range cj.Unmodelled {
		if strings.HasPrefix(path, "spec.jobTemplate.metadata.") {
			fs = append(fs, backends.Fidelity{Field: path, Level: backends.Note,
				Message: "ignored, as Kubernetes' CronJob controller ignores it: a Job gets only the template's labels and annotations"})
			continue
		}
		fs = append(fs, backends.Fidelity{Field: path, Level: backends.Unsupported, Outcome: !backends.PlacementOnly(path),
			Message: "not honoured by the nomad backend"})
	}
	return fs
}

// macros are robfig/cron's descriptors written out as five fields.
var macros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

// nomadSchedule is the cron spec Nomad reads as Kubernetes reads schedule,
// with a note when it can only approximate it, or an error when it cannot
// at all. The next runs by both libraries are compared.
func nomadSchedule(schedule, tz string) (spec, note string, err error) {
	s := strings.TrimSpace(schedule)
	if m, ok := macros[s]; ok {
		s = m
	}
	if d, ok := strings.CutPrefix(s, "@every "); ok {
		return everySpec(schedule, strings.TrimSpace(d))
	}
	if strings.HasPrefix(s, "@") {
		return "", "", fmt.Errorf("%q has no equivalent in Nomad's cron", schedule)
	}
	sched, err := jobspec.ParseSchedule(schedule, tzOrUTC(tz))
	if err != nil {
		return "", "", err
	}
	loc, err := time.LoadLocation(tzOrUTC(tz))
	if err != nil {
		return "", "", err
	}
	pc := &api.PeriodicConfig{Spec: &s, SpecType: ptr(api.PeriodicSpecCron)}
	from := time.Now().In(loc)
	k, n := from, from
	for range 5 {
		k = sched.Next(k)
		n, err = pc.Next(n)
		if err != nil {
			return "", "", fmt.Errorf("Nomad's cron library refuses %q: %v", schedule, err)
		}
		if !k.Equal(n) {
			return s, fmt.Sprintf("Nomad's cron library reads %q otherwise: it runs at %s where Kubernetes runs at %s",
				schedule, n.Format(time.RFC3339), k.Format(time.RFC3339)), nil
		}
	}
	return s, "", nil
}

func tzOrUTC(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// everySpec writes @every D as wall-clock marks D apart, where D divides a
// minute, an hour or a day.
func everySpec(schedule, d string) (string, string, error) {
	dur, err := time.ParseDuration(d)
	if err != nil {
		return "", "", err
	}
	dur = max(dur.Truncate(time.Second), time.Second)
	note := fmt.Sprintf("Nomad has no %q: it runs at every %s of the clock (%%s), not %s after the previous run as Kubernetes does", schedule, dur, dur)
	secs := int(dur / time.Second)
	switch {
	case secs < 60 && 60%secs == 0:
		spec := fmt.Sprintf("*/%d * * * * * *", secs)
		return spec, fmt.Sprintf(note, spec), nil
	case secs%60 == 0 && secs < 3600 && 60%(secs/60) == 0:
		spec := fmt.Sprintf("0 */%d * * * * *", secs/60)
		return spec, fmt.Sprintf(note, spec), nil
	case secs%3600 == 0 && secs <= 86400 && 24%(secs/3600) == 0:
		spec := fmt.Sprintf("0 0 */%d * * * *", secs/3600)
		return spec, fmt.Sprintf(note, spec), nil
	}
	return "", "", fmt.Errorf("%q has no equivalent in Nomad's cron: the interval must divide a minute, an hour or a day", schedule)
}

// encodeCronJob is the CronJob as submitted, for the job's meta.
func encodeCronJob(o *batchv1.CronJob, id string) (string, error) {
	c := o.DeepCopy()
	c.Name, c.GenerateName, c.Status = id, "", batchv1.CronJobStatus{}
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(raw)
	_ = w.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes()), nil
}

func decodeCronJob(meta map[string]string) (*batchv1.CronJob, error) {
	v, ok := meta[metaCronJob]
	if !ok {
		return nil, errors.New("not a CronJob batchctl submitted")
	}
	z, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	o := new(batchv1.CronJob)
	return o, json.Unmarshal(raw, o)
}

func (b *backend) SubmitCronJob(ctx context.Context, cj *jobspec.CronJob) (*backends.CronJobStatus, error) {
	for try := 0; ; try++ {
		id := cronID(cj)
		nj, _, err := b.translateCron(cj, id, "submit")
		if err != nil {
			return nil, err
		}
		ref := backends.Ref{Name: id, Namespace: deref(nj.Namespace)}
		err = b.cronCall(ctx, "submit", ref, func(c *api.Client) error {
			w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
			resp, _, err := c.Jobs().RegisterOpts(nj, &api.RegisterOptions{EnforceIndex: true, ModifyIndex: 0}, w)
			if err == nil && resp.Warnings != "" {
				fmt.Fprintf(b.stderr, "nomad: warning: %s\n", strings.TrimSpace(resp.Warnings))
			}
			return err
		})
		if errors.Is(err, backends.ErrAlreadyExists) && cj.Name == "" && try < 4 {
			continue
		}
		if err != nil {
			return nil, b.whyRejected(ctx, nj, ref, err)
		}
		return b.CronJobStatus(ctx, ref, false)
	}
}

// cronCall is call for a CronJob: its errors name the CronJob.
func (b *backend) cronCall(ctx context.Context, op string, ref backends.Ref, fn func(*api.Client) error) error {
	err := b.call(ctx, op, ref, fn)
	var be *backends.Error
	if errors.As(err, &be) {
		switch {
		case errors.Is(err, backends.ErrNotFound):
			be.Msg = fmt.Sprintf("cronjob %s not found in Nomad namespace %s", ref.Name, ref.Namespace)
		case errors.Is(err, backends.ErrAlreadyExists):
			be.Msg = fmt.Sprintf("cronjob %s already exists in Nomad namespace %s", ref.Name, ref.Namespace)
		}
	}
	return err
}

// periodic reads the periodic job of CronJob ref; a job of that ID that is
// not one is ErrNotFound.
func (b *backend) periodic(ctx context.Context, op string, ref backends.Ref) (*api.Job, *batchv1.CronJob, error) {
	var j *api.Job
	err := b.cronCall(ctx, op, ref, func(c *api.Client) error {
		var err error
		j, _, err = c.Jobs().Info(ref.Name, b.query(ref).WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	o, derr := decodeCronJob(j.Meta)
	if j.Periodic == nil || derr != nil {
		return nil, nil, &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref,
			Msg: fmt.Sprintf("cronjob %s not found in Nomad namespace %s (a Nomad job of that ID is not a CronJob batchctl submitted)", ref.Name, ref.Namespace)}
	}
	o.Namespace = deref(j.Namespace)
	o.UID = types.UID(strconv.FormatUint(deref(j.CreateIndex), 10))
	if j.SubmitTime != nil && deref(j.Version) == 0 {
		o.CreationTimestamp = metav1.Time{Time: time.Unix(0, *j.SubmitTime)}
	}
	if s, ok := j.Meta[metaCronCreated]; ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			o.CreationTimestamp = metav1.Time{Time: t}
		}
	}
	o.Spec.Suspend = ptr(!deref(j.Periodic.Enabled))
	return j, o, nil
}

// metaCronCreated is when the CronJob was submitted (SubmitTime moves with
// every new version: suspend, resume).
const metaCronCreated = metaPrefix + "cronjob-created"

// cronRuns reads the CronJob's jobs: the children Nomad launched and the
// jobs triggered by hand, with their statuses, oldest first.
func (b *backend) cronRuns(ctx context.Context, op string, ref backends.Ref) ([]backends.CronJobRun, error) {
	var stubs []*api.JobListStub
	err := b.call(ctx, op, ref, func(c *api.Client) error {
		q := b.query(ref).WithContext(ctx)
		q.Prefix = ref.Name
		var err error
		stubs, _, err = c.Jobs().ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}}, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	var refs []backends.Ref
	var launched []*time.Time
	for _, j := range stubs {
		if j.Periodic || j.Type != api.JobTypeBatch || j.Meta[backends.CronJobLabel] != ref.Name {
			continue
		}
		switch {
		case j.ParentID == ref.Name:
			at := launchTime(j.ID)
			refs, launched = append(refs, backends.Ref{Name: j.ID, Namespace: j.Namespace}), append(launched, at)
		case j.ParentID == "" && j.Meta[metaAnnotation+backends.InstantiateAnnotation] == "manual":
			refs, launched = append(refs, backends.Ref{Name: j.ID, Namespace: j.Namespace}), append(launched, nil)
		}
	}
	sts, err := b.statuses(ctx, refs)
	if err != nil {
		return nil, err
	}
	var out []backends.CronJobRun
	for i, st := range sts {
		if st != nil { // else purged meanwhile
			out = append(out, backends.CronJobRun{Status: *st, ScheduledTime: launched[i], Manual: launched[i] == nil})
		}
	}
	backends.SortCronJobRuns(out)
	return out, nil
}

// launchTime is the time in a periodic child's ID.
func launchTime(id string) *time.Time {
	_, s, ok := strings.Cut(id, api.JobPeriodicLaunchSuffix)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	t := time.Unix(n, 0)
	return &t
}

// prune purges the oldest finished jobs beyond the history limits, as the
// CronJob controller's cleanupFinishedJobs does (by start time), and
// returns the runs kept.
func (b *backend) prune(ctx context.Context, o *batchv1.CronJob, runs []backends.CronJobRun) []backends.CronJobRun {
	limit := map[backends.Phase]int{
		backends.Succeeded: int(derefOr(o.Spec.SuccessfulJobsHistoryLimit, jobspec.DefaultSuccessfulJobsHistoryLimit)),
		backends.Failed:    int(derefOr(o.Spec.FailedJobsHistoryLimit, jobspec.DefaultFailedJobsHistoryLimit)),
	}
	gone := map[string]bool{}
	for phase, keep := range limit {
		var done []backends.CronJobRun
		for _, r := range runs {
			if r.Phase == phase {
				done = append(done, r)
			}
		}
		sort.SliceStable(done, func(i, j int) bool {
			a, c := done[i].StartTime, done[j].StartTime
			switch {
			case a == nil || c == nil:
				return a != nil
			case a.Equal(*c):
				return done[i].Name < done[j].Name
			}
			return a.Before(*c)
		})
		for i := 0; i < len(done)-keep; i++ {
			if err := b.Delete(ctx, backends.Ref{Name: done[i].Name, Namespace: done[i].Namespace}); err == nil || errors.Is(err, backends.ErrNotFound) {
				gone[done[i].UID] = true
			}
		}
	}
	var kept []backends.CronJobRun
	for _, r := range runs {
		if !gone[r.UID] {
			kept = append(kept, r)
		}
	}
	return kept
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// cronStatus normalizes a periodic job and its runs.
func cronStatus(j *api.Job, o *batchv1.CronJob, runs []backends.CronJobRun, withJobs bool) *backends.CronJobStatus {
	s := &o.Spec
	out := &backends.CronJobStatus{
		Name: deref(j.ID), Namespace: deref(j.Namespace), Backend: Name, UID: string(o.UID),
		Schedule: s.Schedule, ConcurrencyPolicy: string(s.ConcurrencyPolicy),
		StartingDeadlineSeconds:    s.StartingDeadlineSeconds,
		SuccessfulJobsHistoryLimit: derefOr(s.SuccessfulJobsHistoryLimit, jobspec.DefaultSuccessfulJobsHistoryLimit),
		FailedJobsHistoryLimit:     derefOr(s.FailedJobsHistoryLimit, jobspec.DefaultFailedJobsHistoryLimit),
		Suspended:                  deref(s.Suspend),
		Active:                     []string{},
		Scheduler:                  "Nomad's periodic dispatcher (cron " + strconv.Quote(deref(j.Periodic.Spec)) + ")",
		Labels:                     map[string]string{backends.ManagedByLabel: backends.ManagedByValue},
	}
	for k, v := range o.Labels {
		out.Labels[k] = v
	}
	if out.ConcurrencyPolicy == "" {
		out.ConcurrencyPolicy = string(batchv1.AllowConcurrent)
	}
	if s.TimeZone != nil {
		out.TimeZone = *s.TimeZone
	}
	if t := o.CreationTimestamp; !t.IsZero() {
		out.CreationTime = &t.Time
	}
	for _, r := range runs {
		if r.ScheduledTime != nil {
			if out.LastScheduleTime == nil || r.ScheduledTime.After(*out.LastScheduleTime) {
				out.LastScheduleTime = r.ScheduledTime
			}
			if !r.Phase.Terminal() {
				out.Active = append(out.Active, r.Name)
			}
		}
		if r.Phase == backends.Succeeded && r.CompletionTime != nil &&
			(out.LastSuccessfulTime == nil || r.CompletionTime.After(*out.LastSuccessfulTime)) {
			out.LastSuccessfulTime = r.CompletionTime
		}
	}
	if !out.Suspended {
		if loc, err := j.Periodic.GetLocation(); err == nil {
			if t, err := j.Periodic.Next(time.Now().In(loc)); err == nil && !t.IsZero() {
				out.NextScheduleTime = &t
			}
		}
	}
	if withJobs {
		out.Jobs = runs
		if out.Jobs == nil {
			out.Jobs = []backends.CronJobRun{}
		}
	}
	out.State = out.StateOf()
	return out
}

func (b *backend) CronJobStatus(ctx context.Context, ref backends.Ref, detail bool) (*backends.CronJobStatus, error) {
	ref = b.ref(ref)
	j, o, err := b.periodic(ctx, "status", ref)
	if err != nil {
		return nil, err
	}
	runs, err := b.cronRuns(ctx, "status", ref)
	if err != nil {
		return nil, err
	}
	runs = b.prune(ctx, o, runs)
	return cronStatus(j, o, runs, true), nil
}

func (b *backend) ListCronJobs(ctx context.Context, opts backends.ListOptions) ([]*backends.CronJobStatus, error) {
	stubs, _, err := b.listStubs(ctx, "list", b.listNamespace(opts), 0, 0)
	if err != nil {
		return nil, err
	}
	var out []*backends.CronJobStatus
	for _, s := range stubs {
		if !s.Periodic || !managed(s.Meta) {
			continue
		}
		o, err := decodeCronJob(s.Meta)
		if err != nil {
			continue
		}
		labels := map[string]string{backends.ManagedByLabel: backends.ManagedByValue}
		for k, v := range o.Labels {
			labels[k] = v
		}
		if !backends.Matches(opts.Selector, labels) {
			continue
		}
		j, o, err := b.periodic(ctx, "list", backends.Ref{Name: s.ID, Namespace: s.Namespace})
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cronStatus(j, o, nil, false))
	}
	backends.SortCronJobs(out)
	return out, nil
}

func (b *backend) SuspendCronJob(ctx context.Context, ref backends.Ref, suspend bool) error {
	op := "resume"
	if suspend {
		op = "suspend"
	}
	ref = b.ref(ref)
	j, _, err := b.periodic(ctx, op, ref)
	if err != nil {
		return err
	}
	if deref(j.Periodic.Enabled) == !suspend {
		return nil
	}
	j.Periodic.Enabled = ptr(!suspend)
	if _, ok := j.Meta[metaCronCreated]; !ok && j.SubmitTime != nil {
		j.Meta[metaCronCreated] = time.Unix(0, *j.SubmitTime).UTC().Format(time.RFC3339Nano)
	}
	return b.cronCall(ctx, op, ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		_, _, err := c.Jobs().RegisterOpts(j, &api.RegisterOptions{EnforceIndex: true, ModifyIndex: deref(j.JobModifyIndex)}, w)
		return err
	})
}

func (b *backend) TriggerCronJob(ctx context.Context, ref backends.Ref, name string) (*backends.Status, error) {
	ref = b.ref(ref)
	_, o, err := b.periodic(ctx, "trigger", ref)
	if err != nil {
		return nil, err
	}
	if runs, err := b.cronRuns(ctx, "trigger", ref); err == nil {
		b.prune(ctx, o, runs)
	}
	if name == "" {
		name = croncontroller.ManualJobName(o.Name, randomSuffix())
	}
	mj := croncontroller.ManualJob(o, name)
	mj.OwnerReferences = nil // linked by its meta: the CronJob's label
	if mj.Labels == nil {
		mj.Labels = map[string]string{}
	}
	mj.Labels[backends.CronJobLabel] = o.Name
	mj.Namespace = ref.Namespace
	raw, err := json.Marshal(mj)
	if err != nil {
		return nil, err
	}
	job, err := jobspec.Parse(name+".json", bytes.NewReader(raw))
	if err != nil {
		return nil, &backends.Error{Kind: backends.ErrInvalid, Op: "trigger", Ref: ref, Msg: err.Error()}
	}
	return b.Submit(ctx, job)
}

func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	s := make([]byte, 5)
	for i := range s {
		s[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(s)
}

// DeleteCronJob stops and purges the periodic job, then every job it
// launched or was triggered from it.
func (b *backend) DeleteCronJob(ctx context.Context, ref backends.Ref) error {
	ref = b.ref(ref)
	if _, _, err := b.periodic(ctx, "delete", ref); err != nil {
		return err
	}
	err := b.cronCall(ctx, "delete", ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		_, _, err := c.Jobs().DeregisterOpts(ref.Name, &api.DeregisterOptions{Purge: true}, w)
		return err
	})
	if err != nil {
		return err
	}
	runs, err := b.cronRuns(ctx, "delete", ref)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := b.Delete(ctx, backends.Ref{Name: r.Name, Namespace: r.Namespace}); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
	}
	return nil
}

// WatchCronJob long-polls Nomad's job list (a blocking query: it returns
// when any job changes, a launch or a run's end among them) and reports
// the CronJob whenever its status changes, and at each scheduled time.
func (b *backend) WatchCronJob(ctx context.Context, ref backends.Ref, fn func(*backends.CronJobStatus) bool) error {
	ref = b.ref(ref)
	last := ""
	var index uint64
	pause := 100 * time.Millisecond
	for {
		st, err := b.CronJobStatus(ctx, ref, false)
		if err != nil {
			return err
		}
		if fp := cronFingerprint(st); fp != last {
			last = fp
			if fn(st) {
				return nil
			}
		}
		wait := blockingWait()
		if st.NextScheduleTime != nil {
			wait = min(wait, max(time.Until(*st.NextScheduleTime)+time.Second, time.Millisecond))
		}
		err = b.call(ctx, "watch", ref, func(c *api.Client) error {
			q := b.query(ref).WithContext(ctx)
			q.Prefix, q.WaitIndex, q.WaitTime = ref.Name, max(index, 1), wait
			_, qm, err := c.Jobs().List(q)
			if err == nil {
				index = qm.LastIndex
			}
			return err
		})
		switch {
		case err == nil:
			pause = 100 * time.Millisecond
		case retryable(err) && ctx.Err() == nil:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		default:
			return err
		}
	}
}

func cronFingerprint(c *backends.CronJobStatus) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s|%s|%v|%v|%v|%s|", c.UID, c.State, c.Suspended, c.LastScheduleTime, c.LastSuccessfulTime, strings.Join(c.Active, ","))
	for _, j := range c.Jobs {
		fmt.Fprintf(&s, "%s/%s/%d/%d/%d;", j.Name, j.Phase, j.Active, j.Succeeded, j.Failed)
	}
	return s.String()
}
