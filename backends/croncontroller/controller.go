// Package croncontroller is Kubernetes 1.36's CronJob controller
// (pkg/controller/cronjob: cronjob_controllerv2.go and utils.go, "controller
// v2") ported to run over any store of Jobs: one Sync is the controller's
// sync of one CronJob — clean up finished Jobs beyond the history limits,
// then reconcile the active list and create the Job of the most recent
// unmet schedule time — with the same rules, names, annotations and events.
// The local backend's scheduler runs it; the other backends use its
// schedule arithmetic to report the next run.
//
// What differs from the original is only what a cluster provides and this
// does not: Jobs come from JobControl instead of informers and a client,
// events go to Record, and the caller requeues after the returned delay
// (the original's work queue).
package croncontroller

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// nextScheduleDelta pads every requeue, against clock skew (the original's).
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is the original's limit on missed start times counted
// before it warns (TooManyMissedTimes).
const tooManyMissed = 100

// JobControl reads and changes the Jobs of the store the controller runs
// over. Errors are classified as backends' are: ErrNotFound, ErrAlreadyExists.
type JobControl interface {
	GetJob(namespace, name string) (*batchv1.Job, error)
	CreateJob(namespace string, job *batchv1.Job) (*batchv1.Job, error)
	DeleteJob(namespace, name string) error
}

// Controller syncs CronJobs.
type Controller struct {
	Jobs JobControl
	// Record receives the controller's events (Normal or Warning, a reason,
	// a message), as its EventRecorder did.
	Record func(eventType, reason, message string)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c *Controller) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Controller) event(eventType, reason, format string, args ...any) {
	if c.Record != nil {
		c.Record(eventType, reason, fmt.Sprintf(format, args...))
	}
}

// Sync reconciles cronJob with jobs, the Jobs it controls, once: the
// controller's sync. It returns the CronJob with its status updated,
// whether the status changed, and when to sync again (nil: only when
// something changes: the CronJob is suspended or its schedule unusable).
func (c *Controller) Sync(cronJob *batchv1.CronJob, jobs []*batchv1.Job) (*batchv1.CronJob, bool, *time.Duration, error) {
	cj := cronJob.DeepCopy()
	updated := c.cleanupFinishedJobs(cj, jobs)
	requeue, synced, err := c.syncCronJob(cj, jobs)
	return cj, updated || synced, requeue, err
}

// syncCronJob is the original's, step for step.
func (c *Controller) syncCronJob(cronJob *batchv1.CronJob, jobs []*batchv1.Job) (*time.Duration, bool, error) {
	now := c.now()
	updateStatus := false

	childrenJobs := make(map[types.UID]bool)
	for _, j := range jobs {
		childrenJobs[j.UID] = true
		found := inActiveList(cronJob, j.UID)
		if !found && !isJobFinished(j) {
			// The original re-reads the CronJob first; here the caller
			// holds the only copy.
			c.event(corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		} else if isJobFinished(j) {
			if found {
				_, condition := finishedCondition(j)
				deleteFromActiveList(cronJob, j.UID)
				c.event(corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, condition)
				updateStatus = true
			}
			if isJobSucceeded(j) {
				if cronJob.Status.LastSuccessfulTime == nil {
					cronJob.Status.LastSuccessfulTime = j.Status.CompletionTime
					updateStatus = true
				}
				if j.Status.CompletionTime != nil && j.Status.CompletionTime.After(cronJob.Status.LastSuccessfulTime.Time) {
					cronJob.Status.LastSuccessfulTime = j.Status.CompletionTime
					updateStatus = true
				}
			}
		}
	}

	// Remove any job reference from the active list if the job does not
	// exist any more, lest the CronJob look active forever.
	for _, j := range cronJob.Status.Active {
		if childrenJobs[j.UID] {
			continue
		}
		_, err := c.Jobs.GetJob(j.Namespace, j.Name)
		switch {
		case errors.Is(err, backends.ErrNotFound):
			c.event(corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", j.Name)
			deleteFromActiveList(cronJob, j.UID)
			updateStatus = true
		case err != nil:
			return nil, updateStatus, err
		}
	}

	if cronJob.DeletionTimestamp != nil {
		return nil, updateStatus, nil
	}

	if tz := cronJob.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.event(corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return nil, updateStatus, nil
		}
	}

	if cronJob.Spec.Suspend != nil && *cronJob.Spec.Suspend {
		return nil, updateStatus, nil
	}

	sched, err := c.schedule(cronJob)
	if err != nil {
		c.event(corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cronJob.Spec.Schedule, err)
		return nil, updateStatus, nil
	}

	scheduledTime, err := c.nextScheduleTime(cronJob, now, sched)
	if err != nil {
		c.event(corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cronJob.Spec.Schedule, err)
		return nil, updateStatus, nil
	}
	if scheduledTime == nil {
		// No unmet start time: wait for the next one.
		t := nextScheduleTimeDuration(cronJob, now, sched)
		return t, updateStatus, nil
	}

	tooLate := false
	if cronJob.Spec.StartingDeadlineSeconds != nil {
		tooLate = scheduledTime.Add(time.Second * time.Duration(*cronJob.Spec.StartingDeadlineSeconds)).Before(now)
	}
	if tooLate {
		c.event(corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduledTime.UTC().Format(time.RFC1123Z))
		t := nextScheduleTimeDuration(cronJob, now, sched)
		return t, updateStatus, nil
	}
	if inActiveListByName(cronJob, JobName(cronJob.Name, *scheduledTime), cronJob.Namespace) ||
		(cronJob.Status.LastScheduleTime != nil && cronJob.Status.LastScheduleTime.Equal(&metav1.Time{Time: *scheduledTime})) {
		t := nextScheduleTimeDuration(cronJob, now, sched)
		return t, updateStatus, nil
	}
	if cronJob.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cronJob.Status.Active) > 0 {
		c.event(corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
		t := nextScheduleTimeDuration(cronJob, now, sched)
		return t, updateStatus, nil
	}
	if cronJob.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent {
		for _, j := range cronJob.Status.Active {
			job, err := c.Jobs.GetJob(j.Namespace, j.Name)
			if err != nil {
				c.event(corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
				return nil, updateStatus, err
			}
			if !c.deleteJob(cronJob, job) {
				return nil, updateStatus, fmt.Errorf("could not replace job %s/%s", job.Namespace, job.Name)
			}
			updateStatus = true
		}
	}

	jobAlreadyExists := false
	jobReq, err := JobFromTemplate(cronJob, *scheduledTime)
	if err != nil {
		return nil, updateStatus, err
	}
	jobResp, err := c.Jobs.CreateJob(cronJob.Namespace, jobReq)
	switch {
	case errors.Is(err, backends.ErrAlreadyExists):
		// Created before, by us (a crash between the Job and the status)
		// or by someone else.
		jobAlreadyExists = true
		job, err := c.Jobs.GetJob(jobReq.Namespace, jobReq.Name)
		if err != nil {
			return nil, updateStatus, err
		}
		jobResp = job
		if !metav1.IsControlledBy(job, cronJob) {
			return nil, updateStatus, nil
		}
		if inActiveList(cronJob, job.UID) {
			return nil, updateStatus, nil
		}
	case err != nil:
		c.event(corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return nil, updateStatus, err
	}
	if !jobAlreadyExists {
		c.event(corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", jobResp.Name)
	}

	// The Job's name is deterministic per scheduled time, which keeps a
	// restarted controller from creating it twice.
	cronJob.Status.Active = append(cronJob.Status.Active, jobRef(jobResp))
	cronJob.Status.LastScheduleTime = &metav1.Time{Time: *scheduledTime}
	updateStatus = true

	t := nextScheduleTimeDuration(cronJob, now, sched)
	return t, updateStatus, nil
}

// schedule parses the CronJob's schedule as formatSchedule and
// ParseCronScheduleWithPanicRecovery do.
func (c *Controller) schedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	tz := ""
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		c.event(corev1.EventTypeWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	} else if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	return jobspec.ParseSchedule(cj.Spec.Schedule, tz)
}

// nextScheduleTime is the most recent unmet schedule time at or before
// now, or nil; it warns when too many were missed.
func (c *Controller) nextScheduleTime(cj *batchv1.CronJob, now time.Time, schedule cron.Schedule) (*time.Time, error) {
	_, mostRecentTime, missed, err := mostRecentScheduleTime(cj, now, schedule, true)
	if mostRecentTime == nil || mostRecentTime.After(now) {
		return nil, err
	}
	if missed == manyMissed {
		c.event(corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	return mostRecentTime, err
}

// cleanupFinishedJobs deletes the oldest finished Jobs beyond the history
// limits (by start time).
func (c *Controller) cleanupFinishedJobs(cj *batchv1.CronJob, js []*batchv1.Job) bool {
	if cj.Spec.FailedJobsHistoryLimit == nil && cj.Spec.SuccessfulJobsHistoryLimit == nil {
		return false
	}
	updateStatus := false
	var failedJobs, successfulJobs []*batchv1.Job
	for _, job := range js {
		isFinished, finishedStatus := finishedCondition(job)
		if isFinished && finishedStatus == batchv1.JobComplete {
			successfulJobs = append(successfulJobs, job)
		} else if isFinished && finishedStatus == batchv1.JobFailed {
			failedJobs = append(failedJobs, job)
		}
	}
	if cj.Spec.SuccessfulJobsHistoryLimit != nil && c.removeOldestJobs(cj, successfulJobs, *cj.Spec.SuccessfulJobsHistoryLimit) {
		updateStatus = true
	}
	if cj.Spec.FailedJobsHistoryLimit != nil && c.removeOldestJobs(cj, failedJobs, *cj.Spec.FailedJobsHistoryLimit) {
		updateStatus = true
	}
	return updateStatus
}

func (c *Controller) removeOldestJobs(cj *batchv1.CronJob, js []*batchv1.Job, maxJobs int32) bool {
	updateStatus := false
	numToDelete := len(js) - int(maxJobs)
	if numToDelete <= 0 {
		return updateStatus
	}
	sort.Sort(byJobStartTime(js))
	for i := 0; i < numToDelete; i++ {
		if c.deleteJob(cj, js[i]) {
			updateStatus = true
		}
	}
	return updateStatus
}

// deleteJob deletes a Job and its reference in the active list.
func (c *Controller) deleteJob(cj *batchv1.CronJob, job *batchv1.Job) bool {
	if err := c.Jobs.DeleteJob(job.Namespace, job.Name); err != nil {
		c.event(corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return false
	}
	deleteFromActiveList(cj, job.UID)
	c.event(corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", job.Name)
	return true
}

type missedSchedulesType int

const (
	noneMissed missedSchedulesType = iota
	fewMissed
	manyMissed
)

// mostRecentScheduleTime returns the last schedule time or the CronJob's
// creation time, the most recent time a Job should have been created (nil
// if after now), how many were missed (none, few, many) and an error for a
// schedule that is valid but never fires twice (31 February).
func mostRecentScheduleTime(cj *batchv1.CronJob, now time.Time, schedule cron.Schedule, includeStartingDeadlineSeconds bool) (time.Time, *time.Time, missedSchedulesType, error) {
	earliestTime := cj.CreationTimestamp.Time
	missedSchedules := noneMissed
	if cj.Status.LastScheduleTime != nil {
		earliestTime = cj.Status.LastScheduleTime.Time
	}
	if includeStartingDeadlineSeconds && cj.Spec.StartingDeadlineSeconds != nil {
		// Nothing before this point is scheduled any more.
		schedulingDeadline := now.Add(-time.Second * time.Duration(*cj.Spec.StartingDeadlineSeconds))
		if schedulingDeadline.After(earliestTime) {
			earliestTime = schedulingDeadline
		}
	}

	t1 := schedule.Next(earliestTime)
	t2 := schedule.Next(t1)

	if now.Before(t1) {
		return earliestTime, nil, missedSchedules, nil
	}
	if now.Before(t2) {
		return earliestTime, &t1, missedSchedules, nil
	}

	timeBetweenTwoSchedules := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if timeBetweenTwoSchedules < 1 {
		return earliestTime, nil, missedSchedules, fmt.Errorf("time difference between two schedules is less than 1 second")
	}
	// A rough count of the missed schedules: how many intervals fit
	// between the first one and now.
	timeElapsed := int64(now.Sub(t1).Seconds())
	numberOfMissedSchedules := (timeElapsed / timeBetweenTwoSchedules) + 1

	var mostRecentTime time.Time
	potentialEarliest := t1.Add(time.Duration((numberOfMissedSchedules-1-1)*timeBetweenTwoSchedules) * time.Second)
	for t := schedule.Next(potentialEarliest); !t.After(now); t = schedule.Next(t) {
		mostRecentTime = t
	}

	switch {
	case numberOfMissedSchedules > tooManyMissed:
		missedSchedules = manyMissed
	case numberOfMissedSchedules > 0:
		missedSchedules = fewMissed
	}

	if mostRecentTime.IsZero() {
		return earliestTime, nil, missedSchedules, nil
	}
	return earliestTime, &mostRecentTime, missedSchedules, nil
}

// nextScheduleTimeDuration is how long until the next sync is due: the
// schedule time after the most recent one, plus nextScheduleDelta.
func nextScheduleTimeDuration(cj *batchv1.CronJob, now time.Time, schedule cron.Schedule) *time.Duration {
	earliestTime, mostRecentTime, missedSchedules, err := mostRecentScheduleTime(cj, now, schedule, false)
	if err != nil {
		mostRecentTime = &now
	} else if mostRecentTime == nil {
		if missedSchedules == noneMissed {
			mostRecentTime = &earliestTime
		} else {
			mostRecentTime = &now
		}
	}
	t := schedule.Next(*mostRecentTime).Add(nextScheduleDelta).Sub(now)
	return &t
}

// NextScheduleTime is when the CronJob is next due, as the controller
// computes it: nil while it is suspended or when its schedule cannot be
// read.
func NextScheduleTime(cj *batchv1.CronJob, now time.Time) *time.Time {
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return nil
	}
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	sched, err := jobspec.ParseSchedule(cj.Spec.Schedule, tz)
	if err != nil {
		return nil
	}
	d := nextScheduleTimeDuration(cj, now, sched)
	t := now.Add(*d - nextScheduleDelta)
	if t.IsZero() || t.Year() > 9000 {
		return nil // never again
	}
	return &t
}

// JobName is the name of the Job the controller creates for a scheduled
// time: the CronJob's, then the time in minutes since the epoch.
func JobName(cronJob string, scheduledTime time.Time) string {
	return fmt.Sprintf("%s-%d", cronJob, scheduledTime.Unix()/60)
}

// JobFromTemplate makes the Job of a scheduled time from a CronJob, as
// getJobFromTemplate2 does: the template's labels, its annotations plus the
// scheduled time (ScheduledTimeAnnotation, in the CronJob's time zone),
// the CronJob as controller, its spec.
func JobFromTemplate(cj *batchv1.CronJob, scheduledTime time.Time) (*batchv1.Job, error) {
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	annotations := maps.Clone(cj.Spec.JobTemplate.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[backends.ScheduledTimeAnnotation] = scheduledTime.In(loc).Format(time.RFC3339)
	labels := maps.Clone(cj.Spec.JobTemplate.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Labels:            labels,
			Annotations:       annotations,
			Name:              JobName(cj.Name, scheduledTime),
			Namespace:         cj.Namespace,
			CreationTimestamp: metav1.Time{Time: scheduledTime},
			OwnerReferences:   []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job, nil
}

// ManualJob makes a Job from a CronJob by hand, as `kubectl create job
// NAME --from=cronjob/CRONJOB` does: InstantiateAnnotation "manual" and the
// template's annotations, its labels, the CronJob as controller (without
// blocking its deletion), its spec.
func ManualJob(cj *batchv1.CronJob, name string) *batchv1.Job {
	annotations := map[string]string{backends.InstantiateAnnotation: "manual"}
	maps.Copy(annotations, cj.Spec.JobTemplate.Annotations)
	controller := true
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   cj.Namespace,
			Annotations: annotations,
			Labels:      maps.Clone(cj.Spec.JobTemplate.Labels),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &controller,
			}},
		},
	}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job
}

// ManualJobName is the name trigger gives a Job when none is asked for:
// "<cronjob>-manual-<5 random characters>", within a Job name's 63.
func ManualJobName(cronJob, random string) string {
	const suffix = len("-manual-") + 5
	if len(cronJob)+suffix > 63 {
		cronJob = strings.TrimRight(cronJob[:63-suffix], "-.")
	}
	return cronJob + "-manual-" + random
}

// IsFinished, Succeeded: the Job's Complete or Failed condition.
func isJobFinished(j *batchv1.Job) bool {
	finished, _ := finishedCondition(j)
	return finished
}

func finishedCondition(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func isJobSucceeded(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func inActiveList(cj *batchv1.CronJob, uid types.UID) bool {
	for _, j := range cj.Status.Active {
		if j.UID == uid {
			return true
		}
	}
	return false
}

func inActiveListByName(cj *batchv1.CronJob, name, namespace string) bool {
	for _, j := range cj.Status.Active {
		if j.Name == name && j.Namespace == namespace {
			return true
		}
	}
	return false
}

func deleteFromActiveList(cj *batchv1.CronJob, uid types.UID) {
	if cj == nil {
		return
	}
	newActive := []corev1.ObjectReference{}
	for _, j := range cj.Status.Active {
		if j.UID != uid {
			newActive = append(newActive, j)
		}
	}
	cj.Status.Active = newActive
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion}
}

// byJobStartTime sorts Jobs by start time (unstarted last), then name.
type byJobStartTime []*batchv1.Job

func (o byJobStartTime) Len() int      { return len(o) }
func (o byJobStartTime) Swap(i, j int) { o[i], o[j] = o[j], o[i] }

func (o byJobStartTime) Less(i, j int) bool {
	if o[i].Status.StartTime == nil && o[j].Status.StartTime != nil {
		return false
	}
	if o[i].Status.StartTime != nil && o[j].Status.StartTime == nil {
		return true
	}
	if o[i].Status.StartTime.Equal(o[j].Status.StartTime) {
		return o[i].Name < o[j].Name
	}
	return o[i].Status.StartTime.Before(o[j].Status.StartTime)
}
