package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/croncontroller"
	"github.com/batchctl/batchctl/jobspec"
)

// CronJobs run on this machine as a detached scheduler process per
// CronJob (cron_scheduler.go) that runs Kubernetes' CronJob controller
// (backends/croncontroller) and creates the Jobs through this backend's own
// Submit, so they are ordinary local Jobs, each with its supervisor. A
// CronJob lives in the same state directory, in a store of its own rooted
// at cron/ with the same layout and guarantees as the Jobs' (store.go):
//
//	cron/jobs/<uid>/cronjob.json  what was submitted, and how to make its Jobs
//	cron/jobs/<uid>/state.json    the controller's status (last schedule, active Jobs, …)
//	cron/jobs/<uid>/lock          flock: the scheduler's, for its whole life
//	cron/jobs/<uid>/supervisor    "pid starttime" of the scheduler
//	cron/jobs/<uid>/suspend       present while suspended (spec.suspend)
//	cron/jobs/<uid>/deleting      present once Delete asked it to go
//	cron/jobs/<uid>/events.jsonl  the controller's events
//	cron/jobs/<uid>/scheduler.log the scheduler's own log
//	cron/names/<namespace>/<name> the uid of the CronJob of that name
//
// A scheduler that died (a crash, a reboot) is noticed by the next command
// that reads the CronJob, as a lost supervisor is: the CronJob is then
// Lost (reason SchedulerLost) and creates nothing until `resume` starts a
// scheduler again, which makes up for the missed runs as the controller
// does after an outage (the most recent one, within startingDeadlineSeconds).

var _ backends.Scheduler = (*backend)(nil)

const (
	cronRecordFile   = "cronjob.json"
	cronEventsFile   = "events.jsonl"
	schedulerLogFile = "scheduler.log"
)

// cronRecord is cronjob.json. It never changes.
type cronRecord struct {
	UID       string            `json:"uid"`
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Created   time.Time         `json:"created"`
	// Manifest is the CronJob as submitted, its template labelled with
	// backends.CronJobLabel.
	Manifest *batchv1.CronJob `json:"manifest"`
	// WorkDir is where submit ran: the Jobs' relative and empty working
	// directories resolve against it, as a Job's do.
	WorkDir string `json:"workDir"`
	// Options are the settings the Jobs are submitted with.
	Options cronOptions `json:"options"`
}

type cronOptions struct {
	Backoff       Duration `json:"backoff"`
	BackoffCap    Duration `json:"backoffCap"`
	Runtime       string   `json:"runtime"`
	DockerHost    string   `json:"dockerHost,omitempty"`
	AllowHostPath bool     `json:"allowHostPath,omitempty"`
}

// cronState is state.json: the controller's status, written by the
// scheduler; Lost by the command that found the scheduler gone.
type cronState struct {
	Generation uint64                `json:"generation"`
	Status     batchv1.CronJobStatus `json:"status"`
	// Jobs fingerprints the CronJob's Jobs as the scheduler last saw them,
	// so that watchers notice a Job's change from state.json alone.
	Jobs string `json:"jobs,omitempty"`
	// Lost is set when the scheduler was found dead.
	Lost *lostScheduler `json:"lost,omitempty"`
}

type lostScheduler struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// CronPlan is the local backend's native object for a CronJob: what the
// scheduler runs, and the plan of each Job it creates.
type CronPlan struct {
	Kind                       string   `json:"kind"` // always "LocalCronJob"
	Namespace                  string   `json:"namespace"`
	Name                       string   `json:"name,omitempty"`
	GenerateName               string   `json:"generateName,omitempty"`
	Schedule                   string   `json:"schedule"`
	TimeZone                   string   `json:"timeZone"` // the zone the schedule runs in
	ConcurrencyPolicy          string   `json:"concurrencyPolicy"`
	StartingDeadlineSeconds    *int64   `json:"startingDeadlineSeconds,omitempty"`
	Suspend                    bool     `json:"suspend"`
	SuccessfulJobsHistoryLimit int32    `json:"successfulJobsHistoryLimit"`
	FailedJobsHistoryLimit     int32    `json:"failedJobsHistoryLimit"`
	JobTemplate                *Plan    `json:"jobTemplate"`
	NextScheduleTimes          []string `json:"nextScheduleTimes"`
}

// cron is the store of CronJobs: the same layout as the Jobs', under cron/.
func (b *backend) cron() *store { return &store{dir: filepath.Join(b.st.dir, "cron")} }

func cronNotFound(op string, ref backends.Ref) error {
	return &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref, Msg: "cronjob not found"}
}

func (b *backend) RenderCronJob(cj *jobspec.CronJob) (*backends.Rendering, error) {
	p, err := b.cronPlan(cj, "render")
	if err != nil {
		return nil, err
	}
	return &backends.Rendering{Native: p, Fidelity: b.cronFidelity(cj, p.JobTemplate.Runtime)}, nil
}

// cronPlan checks that the CronJob's Jobs can run here (their plan, with
// the name of the next run) and says how it will be scheduled.
func (b *backend) cronPlan(cj *jobspec.CronJob, op string) (*CronPlan, error) {
	ns := cj.Namespace
	if ns == "" {
		ns = b.namespace
	}
	name := cj.Name
	if name == "" {
		name = cj.GenerateName + "xxxxx"
	}
	now := time.Now()
	jp, err := b.plan(cj.JobNamed(croncontroller.JobName(name, now)), op)
	if err != nil {
		return nil, err
	}
	sched, err := jobspec.ParseSchedule(cj.Schedule, cj.TimeZone)
	if err != nil {
		return nil, &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: backends.Ref{Name: cj.Name, Namespace: ns}, Msg: "spec.schedule: " + err.Error()}
	}
	zone := cj.TimeZone
	if zone == "" {
		name, _ := now.Zone()
		zone = "this machine's (" + name + " now)"
	}
	p := &CronPlan{Kind: "LocalCronJob", Namespace: ns, Name: cj.Name, GenerateName: cj.GenerateName,
		Schedule: cj.Schedule, TimeZone: zone, ConcurrencyPolicy: string(cj.ConcurrencyPolicy),
		StartingDeadlineSeconds: cj.StartingDeadlineSeconds, Suspend: cj.Suspend,
		SuccessfulJobsHistoryLimit: cj.SuccessfulJobsHistoryLimit, FailedJobsHistoryLimit: cj.FailedJobsHistoryLimit,
		JobTemplate: jp}
	p.JobTemplate.Name, p.JobTemplate.GenerateName = "", ""
	t := now
	for range 3 {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		p.NextScheduleTimes = append(p.NextScheduleTimes, t.Format(time.RFC3339))
	}
	return p, nil
}

// cronFidelity is the template's report, what the model does not carry of
// the CronJob itself, and what a schedule on this machine cannot do.
func (b *backend) cronFidelity(cj *jobspec.CronJob, runtime string) []backends.Fidelity {
	fs := cronUnmodelled(cj)
	fs = append(fs, backends.Fidelity{Field: "spec.schedule", Level: backends.Note,
		Message: "run by a scheduler process on this machine, which does not survive a reboot: `batchctl resume cronjob/NAME` starts it again (missed runs are then made up as Kubernetes does after an outage)"})
	for _, f := range fidelity(cj.Template, runtime) {
		f.Field = "spec.jobTemplate." + f.Field
		fs = append(fs, f)
	}
	return fs
}

// cronUnmodelled reports the CronJob's own fields the model leaves out:
// the template's metadata besides labels and annotations is ignored, as
// the CronJob controller ignores it; anything else is not honoured.
func cronUnmodelled(cj *jobspec.CronJob) []backends.Fidelity {
	var fs []backends.Fidelity
	for _, path := range cj.Unmodelled {
		if strings.HasPrefix(path, "spec.jobTemplate.metadata.") {
			fs = append(fs, backends.Fidelity{Field: path, Level: backends.Note,
				Message: "ignored, as Kubernetes' CronJob controller ignores it: a Job gets only the template's labels and annotations"})
			continue
		}
		fs = append(fs, backends.Fidelity{Field: path, Level: backends.Unsupported, Message: "not honoured by the local backend"})
	}
	return fs
}

func (b *backend) SubmitCronJob(ctx context.Context, cj *jobspec.CronJob) (*backends.CronJobStatus, error) {
	p, err := b.cronPlan(cj, "submit")
	if err != nil {
		return nil, err
	}
	cs := b.cron()
	if err := b.st.init(); err != nil {
		return nil, err
	}
	if err := cs.init(); err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, &backends.Error{Kind: backends.ErrInvalid, Op: "submit", Msg: "cannot resolve the working directory: " + err.Error()}
	}
	uid := newUID()
	manifest := cj.Object.DeepCopy()
	manifest.Namespace = p.Namespace
	if manifest.Name == "" {
		manifest.Name = cj.GenerateName + randSuffix()
	}
	if manifest.Spec.JobTemplate.Labels == nil {
		manifest.Spec.JobTemplate.Labels = map[string]string{}
	}
	manifest.Spec.JobTemplate.Labels[backends.CronJobLabel] = manifest.Name
	labels := map[string]string{backends.ManagedByLabel: backends.ManagedByValue}
	for k, v := range cj.Labels {
		labels[k] = v
	}
	rec := &cronRecord{UID: uid, Namespace: p.Namespace, Name: manifest.Name, Labels: labels, Created: time.Now(),
		Manifest: manifest, WorkDir: wd,
		Options: cronOptions{Backoff: Duration(b.backoff), BackoffCap: Duration(b.backoffCap), Runtime: b.runtime,
			DockerHost: b.dockerHost, AllowHostPath: b.allowHostPath}}
	lockf, err := cs.createCronJob(rec, cj.Suspend)
	if err != nil {
		cs.removeJob(uid)
		return nil, unavailable(err)
	}
	defer lockf.Close()
	for try := 0; ; try++ {
		err = cs.claim(rec.Namespace, rec.Name, uid)
		if err == nil || !errors.Is(err, backends.ErrAlreadyExists) || cj.Name != "" || try == 20 {
			break
		}
		rec.Name = cj.GenerateName + randSuffix()
		rec.Manifest.Name = rec.Name
		rec.Manifest.Spec.JobTemplate.Labels[backends.CronJobLabel] = rec.Name
		if err := cs.writeCronRecord(rec); err != nil {
			cs.removeJob(uid)
			return nil, unavailable(err)
		}
	}
	if err != nil {
		cs.removeJob(uid)
		if errors.Is(err, backends.ErrAlreadyExists) {
			return nil, &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit", Ref: backends.Ref{Name: rec.Name, Namespace: rec.Namespace},
				Msg: fmt.Sprintf("cronjob %q already exists in namespace %q", rec.Name, rec.Namespace)}
		}
		return nil, err
	}
	if err := b.startScheduler(rec.UID, lockf); err != nil {
		cs.unclaim(rec.Namespace, rec.Name, uid)
		cs.removeJob(uid)
		return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: "submit", Ref: backends.Ref{Name: rec.Name, Namespace: rec.Namespace},
			Msg: "cannot start the CronJob's scheduler: " + err.Error(), Err: err}
	}
	return b.cronStatus(rec, &cronState{}, cj.Suspend, true, nil, false), nil
}

// createCronJob writes a new CronJob's directory: its lock (taken, for
// the scheduler), record, first state and suspend request.
func (s *store) createCronJob(rec *cronRecord, suspend bool) (*os.File, error) {
	if err := os.Mkdir(s.jobDir(rec.UID), 0o700); err != nil {
		return nil, err
	}
	lockf, err := openNoFollow(s.lockPath(rec.UID), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if handoverLock {
		if err := lockExclusive(lockf); err != nil {
			lockf.Close()
			return nil, err
		}
	}
	if suspend {
		if f, err := openNoFollow(s.file(rec.UID, suspendFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		}
	}
	err = s.writeCronRecord(rec)
	if err == nil {
		err = s.writeCronState(rec.UID, &cronState{})
	}
	if err != nil {
		lockf.Close()
		return nil, err
	}
	return lockf, nil
}

func (s *store) writeCronRecord(rec *cronRecord) error {
	return writeJSON(s.file(rec.UID, cronRecordFile), rec, true)
}

func (s *store) readCronRecord(uid string) (*cronRecord, error) {
	return readJSON(s.file(uid, cronRecordFile), "record", func(rec *cronRecord) bool {
		return rec.UID == uid && rec.Manifest != nil
	})
}

func (s *store) writeCronState(uid string, st *cronState) error {
	return writeJSON(s.file(uid, stateFile), st, true)
}

func (s *store) readCronState(uid string) (*cronState, error) {
	return readJSON(s.file(uid, stateFile), "state", func(*cronState) bool { return true })
}

func (s *store) has(uid, name string) bool {
	_, err := os.Lstat(s.file(uid, name))
	return err == nil
}

// schedulerAlive is supervisorAlive for a CronJob's scheduler.
func (s *store) schedulerAlive(uid string, rec *cronRecord) bool {
	return s.supervisorAlive(uid, &jobState{Status: backends.Status{CreationTime: &rec.Created}})
}

// loadedCron is a CronJob as read, settled.
type loadedCron struct {
	uid   string
	rec   *cronRecord
	state *cronState
	alive bool
}

// loadCron finds CronJob ref and reads it, settling a dead scheduler: a
// CronJob being deleted is finished off (nil), one whose scheduler died is
// recorded Lost. nil when there is no such CronJob.
func (b *backend) loadCron(ctx context.Context, ref backends.Ref) (*loadedCron, error) {
	cs := b.cron()
	uid, err := cs.lookup(ref.Namespace, ref.Name)
	if err != nil || uid == "" {
		return nil, err
	}
	return b.loadCronUID(ctx, uid)
}

func (b *backend) loadCronUID(ctx context.Context, uid string) (*loadedCron, error) {
	cs := b.cron()
	rec, err := cs.readCronRecord(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := cs.readCronState(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l := &loadedCron{uid: uid, rec: rec, state: st, alive: cs.schedulerAlive(uid, rec)}
	if l.alive {
		return l, nil
	}
	if cs.has(uid, deletingFile) {
		b.finishCronDelete(ctx, l) // a Delete was interrupted
		return nil, nil
	}
	if st.Lost == nil {
		msg := "the scheduler process"
		if pid, _ := cs.supervisorProc(uid); pid > 0 {
			msg += fmt.Sprintf(" (pid %d)", pid)
		}
		msg += " died (a crash, or this machine restarted); no Job is created until `batchctl resume cronjob/" + rec.Name + "` starts it again"
		st.Lost = &lostScheduler{At: time.Now(), Message: msg}
		st.Generation++
		_ = cs.writeCronState(uid, st) // a read-only state directory is read all the same
	}
	return l, nil
}

// object is the CronJob as the controller sees it: the manifest, its
// identity, the suspend request and the status.
func (l *loadedCron) object(suspended bool) *batchv1.CronJob {
	o := l.rec.Manifest.DeepCopy()
	o.UID = types.UID(l.uid)
	o.Namespace, o.Name = l.rec.Namespace, l.rec.Name
	o.CreationTimestamp = metav1.Time{Time: l.rec.Created}
	o.Spec.Suspend = &suspended
	o.Status = *l.state.Status.DeepCopy()
	return o
}

// ownedJob is a Job of a CronJob, as read from the store.
type ownedJob struct {
	uid    string
	rec    *jobRecord
	status backends.Status
}

// cronJobs reads the Jobs CronJob name controls in namespace (by their
// controller reference, as the controller finds them), oldest first.
func (b *backend) cronJobs(namespace, name string) ([]ownedJob, error) {
	claims, err := b.st.claims(namespace)
	if err != nil {
		return nil, err
	}
	var out []ownedJob
	for _, c := range claims {
		uid, err := b.st.lookup(c.namespace, c.name)
		if err != nil || uid == "" {
			continue
		}
		st, err := b.loadUID(uid)
		if err != nil || st == nil || st.Status.Labels[backends.CronJobLabel] != name {
			continue
		}
		rec, err := b.st.readRecord(uid)
		if err != nil {
			continue
		}
		if ref := metav1.GetControllerOf(rec.Manifest); ref == nil || ref.Kind != "CronJob" || ref.Name != name {
			continue
		}
		out = append(out, ownedJob{uid: uid, rec: rec, status: st.Status})
	}
	slices.SortFunc(out, func(a, c ownedJob) int { return a.rec.Created.Compare(c.rec.Created) })
	return out, nil
}

// object is the Job as the controller reads it: the manifest, with the
// status's times and its Complete or Failed condition.
func (j ownedJob) object() *batchv1.Job {
	o := j.rec.Manifest.DeepCopy()
	o.UID = types.UID(j.uid)
	o.Namespace, o.Name = j.rec.Namespace, j.rec.Name
	o.CreationTimestamp = metav1.Time{Time: j.rec.Created}
	s := j.status
	o.Status = batchv1.JobStatus{Active: s.Active, Succeeded: s.Succeeded, Failed: s.Failed}
	if s.StartTime != nil {
		o.Status.StartTime = &metav1.Time{Time: *s.StartTime}
	}
	if s.CompletionTime != nil {
		o.Status.CompletionTime = &metav1.Time{Time: *s.CompletionTime}
	}
	switch s.Phase {
	case backends.Succeeded:
		o.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: "True"}}
	case backends.Failed:
		o.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: "True", Reason: s.Reason, Message: s.Message}}
	}
	return o
}

// run is the Job as a CronJob reports it.
func (j ownedJob) run() backends.CronJobRun {
	r := backends.CronJobRun{Status: j.status}
	r.Attempts, r.Events = nil, nil
	a := j.rec.Manifest.Annotations
	if v, ok := a[backends.ScheduledTimeAnnotation]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			r.ScheduledTime = &t
		}
	}
	r.Manual = a[backends.InstantiateAnnotation] == "manual"
	return r
}

// fingerprintRuns is what a watcher of a CronJob sees change of its Jobs.
func fingerprintRuns(jobs []ownedJob) string {
	var b strings.Builder
	for _, j := range jobs {
		fmt.Fprintf(&b, "%s/%s/%d/%d;", j.uid, j.status.Phase, j.status.Succeeded, j.status.Failed)
	}
	return b.String()
}

// cronStatus normalizes a CronJob; jobs nil leaves Jobs out.
func (b *backend) cronStatus(rec *cronRecord, st *cronState, suspended, alive bool, jobs []ownedJob, withJobs bool) *backends.CronJobStatus {
	m := rec.Manifest
	created := rec.Created
	out := &backends.CronJobStatus{
		Name: rec.Name, Namespace: rec.Namespace, Backend: "local", UID: rec.UID,
		Schedule: m.Spec.Schedule, ConcurrencyPolicy: string(m.Spec.ConcurrencyPolicy),
		StartingDeadlineSeconds:    m.Spec.StartingDeadlineSeconds,
		SuccessfulJobsHistoryLimit: derefOr(m.Spec.SuccessfulJobsHistoryLimit, jobspec.DefaultSuccessfulJobsHistoryLimit),
		FailedJobsHistoryLimit:     derefOr(m.Spec.FailedJobsHistoryLimit, jobspec.DefaultFailedJobsHistoryLimit),
		Suspended:                  suspended, CreationTime: &created, Labels: rec.Labels, Active: []string{},
	}
	if out.ConcurrencyPolicy == "" {
		out.ConcurrencyPolicy = string(batchv1.AllowConcurrent)
	}
	if m.Spec.TimeZone != nil {
		out.TimeZone = *m.Spec.TimeZone
	}
	s := st.Status
	if s.LastScheduleTime != nil {
		t := s.LastScheduleTime.Time
		out.LastScheduleTime = &t
	}
	if s.LastSuccessfulTime != nil {
		t := s.LastSuccessfulTime.Time
		out.LastSuccessfulTime = &t
	}
	for _, a := range s.Active {
		out.Active = append(out.Active, a.Name)
	}
	pid, _ := b.cron().supervisorProc(rec.UID)
	switch {
	case st.Lost != nil:
		out.Scheduler = "local scheduler: lost"
		out.Reason, out.Message = backends.ReasonSchedulerLost, st.Lost.Message
	case alive:
		out.Scheduler = fmt.Sprintf("local scheduler process (pid %d)", pid)
		out.Message = "the scheduler runs on this machine and does not survive a reboot: `batchctl resume cronjob/" + rec.Name + "` starts it again"
		l := &loadedCron{uid: rec.UID, rec: rec, state: st}
		out.NextScheduleTime = croncontroller.NextScheduleTime(l.object(suspended), time.Now())
	default:
		out.Scheduler = "local scheduler: not running"
	}
	if withJobs {
		out.Jobs = []backends.CronJobRun{}
		for _, j := range jobs {
			out.Jobs = append(out.Jobs, j.run())
		}
		backends.SortCronJobRuns(out.Jobs)
	}
	out.State = out.StateOf()
	return out
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func (b *backend) CronJobStatus(ctx context.Context, ref backends.Ref, detail bool) (*backends.CronJobStatus, error) {
	ref = b.ref(ref)
	l, err := b.loadCron(ctx, ref)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, cronNotFound("status", ref)
	}
	jobs, err := b.cronJobs(l.rec.Namespace, l.rec.Name)
	if err != nil {
		return nil, err
	}
	out := b.cronStatus(l.rec, l.state, b.cron().has(l.uid, suspendFile), l.alive, jobs, true)
	if detail {
		out.Events = b.cron().readEvents(l.uid)
	}
	return out, nil
}

func (b *backend) ListCronJobs(ctx context.Context, opts backends.ListOptions) ([]*backends.CronJobStatus, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = b.namespace
	}
	if opts.AllNamespaces {
		ns = ""
	}
	cs := b.cron()
	claims, err := cs.claims(ns)
	if err != nil {
		return nil, err
	}
	var out []*backends.CronJobStatus
	for _, c := range claims {
		l, err := b.loadCron(ctx, backends.Ref{Name: c.name, Namespace: c.namespace})
		if err != nil {
			fmt.Fprintf(b.stderr, "local: warning: cronjob %s/%s: %v\n", c.namespace, c.name, err)
			continue
		}
		if l != nil && backends.Matches(opts.Selector, l.rec.Labels) {
			out = append(out, b.cronStatus(l.rec, l.state, cs.has(l.uid, suspendFile), l.alive, nil, false))
		}
	}
	return out, nil
}

func (b *backend) WatchCronJob(ctx context.Context, ref backends.Ref, fn func(*backends.CronJobStatus) bool) error {
	ref = b.ref(ref)
	last := ""
	var gen uint64
	full := time.Time{}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for first := true; ; first = false {
		cs := b.cron()
		uid, err := cs.lookup(ref.Namespace, ref.Name)
		if err != nil {
			return err
		}
		if uid == "" {
			return cronNotFound("watch", ref)
		}
		st, err := cs.readCronState(uid)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return cronNotFound("watch", ref)
		case err != nil:
			return err
		}
		// Cheap: the scheduler's state; a full read when it changed, and
		// every second besides (a Job triggered by hand, a lost scheduler).
		if first || st.Generation != gen || time.Since(full) >= time.Second {
			gen, full = st.Generation, time.Now()
			cj, err := b.CronJobStatus(ctx, ref, false)
			if err != nil {
				return err
			}
			if fp := cronFingerprint(cj); fp != last {
				last = fp
				if fn(cj) {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// cronFingerprint is what a watcher of a CronJob sees change.
func cronFingerprint(c *backends.CronJobStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%v|%v|%v|%s|", c.UID, c.State, c.Suspended, c.LastScheduleTime, c.LastSuccessfulTime, c.NextScheduleTime, strings.Join(c.Active, ","))
	for _, j := range c.Jobs {
		fmt.Fprintf(&b, "%s/%s/%d/%d;", j.UID, j.Phase, j.Succeeded, j.Failed)
	}
	return b.String()
}

func (b *backend) SuspendCronJob(ctx context.Context, ref backends.Ref, suspend bool) error {
	op := "resume"
	if suspend {
		op = "suspend"
	}
	ref = b.ref(ref)
	l, err := b.loadCron(ctx, ref)
	if err != nil {
		return err
	}
	if l == nil {
		return cronNotFound(op, ref)
	}
	cs := b.cron()
	path := cs.file(l.uid, suspendFile)
	if suspend {
		f, err := openNoFollow(path, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return unavailable(err)
		}
		f.Close()
	} else if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return unavailable(err)
	}
	if !l.alive {
		if suspend {
			return nil // it stays stopped; resume starts it
		}
		return b.restartScheduler(l)
	}
	b.notifyScheduler(l.uid)
	return nil
}

// notifyScheduler tells a live scheduler to sync now. One still starting
// (it has not written its state yet) would die of the signal; it reads the
// requests when it starts, and every second.
func (b *backend) notifyScheduler(uid string) {
	cs := b.cron()
	if st, err := cs.readCronState(uid); err != nil || st.Generation == 0 {
		return
	}
	if pid, start := cs.supervisorProc(uid); pid > 0 {
		if now, ok := procStartTime(pid); !procStartTimeKnowable || (ok && now == start) {
			_ = notifySupervisor(pid)
		}
	}
}

// restartScheduler starts a scheduler for a CronJob whose scheduler died.
func (b *backend) restartScheduler(l *loadedCron) error {
	cs := b.cron()
	lockf, err := openNoFollow(cs.lockPath(l.uid), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return unavailable(err)
	}
	defer lockf.Close()
	if ok, err := tryLock(lockf, true); err != nil || !ok {
		return nil // another command just started it
	}
	l.state.Lost = nil
	l.state.Generation++
	if err := cs.writeCronState(l.uid, l.state); err != nil {
		return unavailable(err)
	}
	if !handoverLock {
		_ = unlock(lockf)
	}
	if err := b.startScheduler(l.uid, lockf); err != nil {
		return &backends.Error{Kind: backends.ErrUnavailable, Op: "resume", Ref: backends.Ref{Name: l.rec.Name, Namespace: l.rec.Namespace},
			Msg: "cannot start the CronJob's scheduler: " + err.Error(), Err: err}
	}
	return nil
}

func (b *backend) TriggerCronJob(ctx context.Context, ref backends.Ref, name string) (*backends.Status, error) {
	ref = b.ref(ref)
	l, err := b.loadCron(ctx, ref)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, cronNotFound("trigger", ref)
	}
	if name == "" {
		name = croncontroller.ManualJobName(l.rec.Name, randSuffix())
	}
	obj := croncontroller.ManualJob(l.object(false), name)
	st, err := b.submitObject(ctx, obj)
	if err != nil {
		return nil, err
	}
	if l.alive {
		b.notifyScheduler(l.uid) // it follows the new Job: history, last success
	}
	return st, nil
}

// submitObject submits a Job the CronJob machinery made.
func (b *backend) submitObject(ctx context.Context, obj *batchv1.Job) (*backends.Status, error) {
	o := obj.DeepCopy()
	o.CreationTimestamp = metav1.Time{}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	job, err := jobspec.Parse(o.Name+".json", strings.NewReader(string(data)))
	if err != nil {
		return nil, &backends.Error{Kind: backends.ErrInvalid, Op: "submit", Ref: backends.Ref{Name: o.Name, Namespace: o.Namespace}, Msg: err.Error()}
	}
	return b.Submit(ctx, job)
}

func (b *backend) DeleteCronJob(ctx context.Context, ref backends.Ref) error {
	ref = b.ref(ref)
	cs := b.cron()
	uid, err := cs.lookup(ref.Namespace, ref.Name)
	if err != nil {
		return err
	}
	if uid == "" {
		return cronNotFound("delete", ref)
	}
	rec, err := cs.readCronRecord(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return cronNotFound("delete", ref)
	}
	if err != nil {
		return err
	}
	f, err := openNoFollow(cs.file(uid, deletingFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return unavailable(err)
	}
	f.Close()
	if cs.schedulerAlive(uid, rec) {
		if pid, start := cs.supervisorProc(uid); pid > 0 {
			if now, ok := procStartTime(pid); !procStartTimeKnowable || (ok && now == start) {
				_ = stopSupervisor(pid)
			}
		}
		select {
		case <-cs.waitUnlocked(uid):
		case <-ctx.Done():
			return &backends.Error{Kind: backends.ErrUnavailable, Op: "delete", Ref: ref,
				Msg: "the cronjob is being deleted but its scheduler has not stopped yet", Err: ctx.Err()}
		}
	}
	return b.finishCronDelete(ctx, &loadedCron{uid: uid, rec: rec})
}

// finishCronDelete deletes a CronJob whose scheduler is gone: its Jobs
// (as Kubernetes' garbage collector does), then its name and directory.
func (b *backend) finishCronDelete(ctx context.Context, l *loadedCron) error {
	jobs, err := b.cronJobs(l.rec.Namespace, l.rec.Name)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := b.Delete(ctx, backends.Ref{Name: j.rec.Name, Namespace: j.rec.Namespace}); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
	}
	cs := b.cron()
	cs.unclaim(l.rec.Namespace, l.rec.Name, l.uid)
	cs.removeJob(l.uid)
	return nil
}

// startScheduler re-executes this program detached as the CronJob's
// scheduler, in its own session, output to scheduler.log.
func (b *backend) startScheduler(uid string, lockf *os.File) error {
	cs := b.cron()
	out, err := openNoFollow(cs.file(uid, schedulerLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := startDetached(cs.jobDir(uid), cs.file(uid, pidFile), scheduleEnv+"="+uid+"|"+b.st.dir,
		inheritedEnv(os.Environ(), b.hiddenEnv), out, lockf); err != nil {
		return fmt.Errorf("%w; see %s", err, out.Name())
	}
	return nil
}
