package backends

import (
	"context"
	"sort"
	"time"

	"github.com/batchctl/batchctl/jobspec"
)

// Scheduler is implemented by backends that run batch/v1 CronJobs: they
// create Jobs from the CronJob's template at the scheduled times with the
// semantics of Kubernetes' CronJob controller (missed schedules,
// startingDeadlineSeconds, concurrencyPolicy, history limits, suspend),
// each Job carrying CronJobLabel. Info().Capabilities says which of them
// the backend honours; RenderCronJob's fidelity report names what it does
// instead. Errors are classified as the Backend's are; a CronJob and a Job
// may share a name.
type Scheduler interface {
	// RenderCronJob translates cj into the native object SubmitCronJob
	// would send, without side effects, and reports what the backend
	// emulates, approximates or cannot honour, of the CronJob and of the
	// Jobs it will create. ErrInvalid when it cannot run here at all.
	RenderCronJob(cj *jobspec.CronJob) (*Rendering, error)

	// SubmitCronJob creates the CronJob and returns its status once the
	// platform has accepted it; ErrAlreadyExists when a CronJob of that
	// name exists in the namespace.
	SubmitCronJob(ctx context.Context, cj *jobspec.CronJob) (*CronJobStatus, error)

	// CronJobStatus reports the CronJob's status with the Jobs it has now
	// (Jobs); detail adds its Events. ErrNotFound when there is none.
	CronJobStatus(ctx context.Context, ref Ref, detail bool) (*CronJobStatus, error)

	// WatchCronJob calls fn with the CronJob's status, then after every
	// change (a Job created, finished or deleted, a schedule time passed,
	// suspend), until fn returns true, ctx ends or the CronJob disappears
	// (ErrNotFound). It survives dropped connections as Watch does.
	WatchCronJob(ctx context.Context, ref Ref, fn func(*CronJobStatus) (done bool)) error

	// ListCronJobs reports the CronJobs batchctl manages, as List reports
	// Jobs (Jobs left empty: ask CronJobStatus for them).
	ListCronJobs(ctx context.Context, opts ListOptions) ([]*CronJobStatus, error)

	// SuspendCronJob sets spec.suspend: a suspended CronJob creates no Job
	// until resumed; the Jobs it created run on. A no-op when already so.
	SuspendCronJob(ctx context.Context, ref Ref, suspend bool) error

	// TriggerCronJob creates a Job from the CronJob's template now, as
	// `kubectl create job --from=cronjob/NAME` does: named name ("" lets
	// the backend choose), annotated InstantiateAnnotation: manual, owned
	// by the CronJob, whatever its schedule, suspension or concurrency
	// policy. It returns the Job's status as Submit does.
	TriggerCronJob(ctx context.Context, ref Ref, name string) (*Status, error)

	// DeleteCronJob removes the CronJob and every Job it created, stopping
	// what still runs. ErrNotFound when there is no such CronJob.
	DeleteCronJob(ctx context.Context, ref Ref) error
}

// Labels and annotations linking Jobs to their CronJob.
const (
	// CronJobLabel names, on every Job a CronJob creates, the CronJob; on
	// k8s it is in the jobTemplate, which the controller copies.
	CronJobLabel = "batchctl.dev/cronjob"
	// ScheduledTimeAnnotation is Kubernetes' annotation of a scheduled
	// Job: its scheduled time (RFC 3339, in the CronJob's time zone).
	ScheduledTimeAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
	// InstantiateAnnotation is kubectl's mark of a Job created by hand from
	// a CronJob (value "manual").
	InstantiateAnnotation = "cronjob.kubernetes.io/instantiate"
	// ReasonSchedulerLost: the process that runs a local CronJob's
	// schedule died; no Job is created until `batchctl resume` starts it
	// again.
	ReasonSchedulerLost = "SchedulerLost"
)

// CronJobState is the one-word state of a CronJob.
type CronJobState string

const (
	CronScheduled CronJobState = "Scheduled" // waiting for its next run, none active
	CronActive    CronJobState = "Active"    // a Job its schedule started is running
	CronSuspended CronJobState = "Suspended" // spec.suspend: no Job is created
	CronLost      CronJobState = "Lost"      // the local scheduler died (ReasonSchedulerLost)
)

// CronJobStatus is the normalized status of one CronJob, the same on every
// backend: what `status`, `list` and `describe` print with -o json (kind
// CronJobStatus).
type CronJobStatus struct {
	// Name is the CronJob's name.
	Name string `json:"name"`
	// Namespace is the CronJob's namespace.
	Namespace string `json:"namespace"`
	// Backend is the backend that runs the schedule: local, k8s or nomad.
	Backend string `json:"backend"`
	// UID identifies this incarnation of the CronJob.
	UID string `json:"uid,omitempty"`
	// State is Scheduled, Active (a Job the schedule started runs), Suspended or Lost (the local scheduler died; see Reason).
	State CronJobState `json:"state"`
	// Schedule is the CronJob's spec.schedule: five cron fields or a macro (@hourly…).
	Schedule string `json:"schedule"`
	// TimeZone is the CronJob's spec.timeZone; absent when unset: the zone of what schedules (kube-controller-manager, this machine; Nomad: UTC).
	TimeZone string `json:"timeZone,omitempty"`
	// ConcurrencyPolicy is Allow, Forbid or Replace.
	ConcurrencyPolicy string `json:"concurrencyPolicy"`
	// StartingDeadlineSeconds is how late a missed run may still start; absent: any time.
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
	// SuccessfulJobsHistoryLimit is how many succeeded Jobs are kept (3 when unset).
	SuccessfulJobsHistoryLimit int32 `json:"successfulJobsHistoryLimit"`
	// FailedJobsHistoryLimit is how many failed Jobs are kept (1 when unset).
	FailedJobsHistoryLimit int32 `json:"failedJobsHistoryLimit"`
	// Suspended is the CronJob's spec.suspend: no Job is created while it is true.
	Suspended bool `json:"suspended"`
	// CreationTime is when the CronJob was created.
	CreationTime *time.Time `json:"creationTime,omitempty"`
	// LastScheduleTime is the scheduled time of the last Job the schedule created; null before.
	LastScheduleTime *time.Time `json:"lastScheduleTime"`
	// LastSuccessfulTime is when a Job of the CronJob last succeeded; null before.
	LastSuccessfulTime *time.Time `json:"lastSuccessfulTime"`
	// NextScheduleTime is the next scheduled time; null while suspended or lost.
	NextScheduleTime *time.Time `json:"nextScheduleTime"`
	// Active are the Jobs the schedule started that have not finished (status.active; Jobs triggered by hand are not in it, as in Kubernetes).
	Active []string `json:"active"`
	// Jobs are the CronJob's Jobs that still exist (the history limits keep them few), oldest first.
	Jobs []CronJobRun `json:"jobs"`
	// Scheduler says what creates the Jobs: the local scheduler process, kube-controller-manager, Nomad's periodic dispatcher.
	Scheduler string `json:"scheduler"`
	// Reason says why the CronJob cannot schedule (SchedulerLost); empty otherwise.
	Reason string `json:"reason,omitempty"`
	// Message explains Reason, or what does not survive a reboot.
	Message string `json:"message,omitempty"`
	// Labels are the CronJob's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Events are what the scheduler recorded (describe), oldest first: SuccessfulCreate, JobAlreadyActive, MissSchedule, SawCompletedJob, SuccessfulDelete, …
	Events []Event `json:"events,omitempty"`
}

// CronJobRun is one Job of a CronJob: its status and how it came to be.
type CronJobRun struct {
	// Status is the Job's JobStatus, inline.
	Status
	// ScheduledTime is the time the schedule created the Job for; absent for a Job triggered by hand.
	ScheduledTime *time.Time `json:"scheduledTime,omitempty"`
	// Manual: the Job was triggered by hand (batchctl trigger, kubectl create job --from).
	Manual bool `json:"manual,omitempty"`
}

// SortCronJobRuns orders a CronJob's Jobs oldest first: by scheduled or
// creation time, then name.
func SortCronJobRuns(runs []CronJobRun) {
	at := func(r CronJobRun) time.Time {
		switch {
		case r.ScheduledTime != nil:
			return *r.ScheduledTime
		case r.CreationTime != nil:
			return *r.CreationTime
		}
		return time.Time{}
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := at(runs[i]), at(runs[j])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return runs[i].Name < runs[j].Name
	})
}

// SortCronJobs orders CronJobs as List orders Jobs: namespace, then name.
func SortCronJobs(cjs []*CronJobStatus) {
	sort.Slice(cjs, func(i, j int) bool {
		if cjs[i].Namespace != cjs[j].Namespace {
			return cjs[i].Namespace < cjs[j].Namespace
		}
		return cjs[i].Name < cjs[j].Name
	})
}

// StateOf is the state of a CronJob from its status fields.
func (c *CronJobStatus) StateOf() CronJobState {
	switch {
	case c.Reason == ReasonSchedulerLost:
		return CronLost
	case c.Suspended:
		return CronSuspended
	case len(c.Active) > 0:
		return CronActive
	}
	return CronScheduled
}
