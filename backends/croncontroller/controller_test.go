package croncontroller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// topOfTheHour is Kubernetes' test anchor (utils_test.go), in UTC.
var topOfTheHour = time.Date(2016, 5, 19, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return topOfTheHour.Add(d) }

func cronJob(schedule string, mutate ...func(*batchv1.CronJob)) *batchv1.CronJob {
	utc := "UTC"
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "mycronjob", Namespace: "ns", UID: "cj-uid",
			CreationTimestamp: metav1.NewTime(at(-time.Hour))},
		Spec: batchv1.CronJobSpec{Schedule: schedule, TimeZone: &utc, ConcurrencyPolicy: batchv1.AllowConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}}}},
	}
	for _, m := range mutate {
		m(cj)
	}
	return cj
}

// The cases of Kubernetes' TestMostRecentScheduleTime that do not depend on
// the machine's time zone.
func TestMostRecentScheduleTime(t *testing.T) {
	ten := int64(10)
	for _, tc := range []struct {
		name     string
		cj       *batchv1.CronJob
		sds      bool
		now      time.Time
		earliest time.Time
		recent   *time.Time
		missed   missedSchedulesType
		wantErr  bool
	}{
		{name: "now before next schedule", cj: cronJob("0 * * * *", created(topOfTheHour)),
			now: at(30 * time.Second), earliest: topOfTheHour},
		{name: "now just after next schedule", cj: cronJob("0 * * * *", created(topOfTheHour)),
			now: at(61 * time.Minute), earliest: topOfTheHour, recent: ptr(at(60 * time.Minute))},
		{name: "missed 5 schedules", cj: cronJob("0 * * * *", created(at(10*time.Second))),
			now: at(301 * time.Minute), earliest: at(10 * time.Second), recent: ptr(at(300 * time.Minute)), missed: fewMissed},
		{name: "complex schedule", cj: cronJob("30 6-16/4 * * 1-5", created(topOfTheHour), lastScheduled(at(30*time.Minute))),
			now: at(24*time.Hour + 31*time.Minute), earliest: at(30 * time.Minute), recent: ptr(at(24*time.Hour + 30*time.Minute)), missed: fewMissed},
		{name: "another complex schedule", cj: cronJob("30 10,11,12 * * 1-5", created(topOfTheHour), lastScheduled(at(30*time.Minute))),
			now: at(30*time.Hour + 30*time.Minute), earliest: at(30 * time.Minute), missed: fewMissed},
		{name: "@every schedule", cj: cronJob("@every 1h", created(at(-59*time.Minute)), lastScheduled(at(time.Minute)),
			func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = &ten }),
			now: at(7 * 24 * time.Hour), earliest: at(time.Minute), recent: ptr(at(6*24*time.Hour + 23*time.Hour + time.Minute)), missed: manyMissed},
		// With the deadline counted, @every is anchored at now-deadline and
		// its next time is always ahead: such a CronJob never runs late.
		{name: "@every schedule with the starting deadline counted", cj: cronJob("@every 1h", created(at(-59*time.Minute)), lastScheduled(at(time.Minute)),
			func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = &ten }),
			sds: true, now: at(7 * 24 * time.Hour), earliest: at(7*24*time.Hour - 10*time.Second)},
		{name: "rogue cronjob", cj: cronJob("59 23 31 2 *", created(at(time.Hour))),
			now: at(1_000_000 * time.Hour), earliest: at(time.Hour), wantErr: true},
		{name: "too many missed", cj: cronJob("* * * * *", created(topOfTheHour)),
			now: at(200 * time.Minute), earliest: topOfTheHour, recent: ptr(at(200 * time.Minute)), missed: manyMissed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sched, err := jobspec.ParseSchedule(tc.cj.Spec.Schedule, "UTC")
			if err != nil {
				t.Fatal(err)
			}
			earliest, recent, missed, err := mostRecentScheduleTime(tc.cj, tc.now, sched, tc.sds)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !earliest.Equal(tc.earliest) {
				t.Errorf("earliest = %v, want %v", earliest, tc.earliest)
			}
			if (recent == nil) != (tc.recent == nil) || (recent != nil && !recent.Equal(*tc.recent)) {
				t.Errorf("most recent = %v, want %v", recent, tc.recent)
			}
			if missed != tc.missed {
				t.Errorf("missed = %v, want %v", missed, tc.missed)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func created(t time.Time) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.CreationTimestamp = metav1.NewTime(t) }
}

func lastScheduled(t time.Time) func(*batchv1.CronJob) {
	return func(cj *batchv1.CronJob) { cj.Status.LastScheduleTime = &metav1.Time{Time: t} }
}

// store is a JobControl over a map, recording what the controller did.
type store struct {
	jobs    map[string]*batchv1.Job
	created []string
	deleted []string
	n       int
}

func newStore(jobs ...*batchv1.Job) *store {
	s := &store{jobs: map[string]*batchv1.Job{}}
	for _, j := range jobs {
		s.jobs[j.Name] = j
	}
	return s
}

func (s *store) GetJob(ns, name string) (*batchv1.Job, error) {
	if j, ok := s.jobs[name]; ok {
		return j, nil
	}
	return nil, fmt.Errorf("job %s: %w", name, backends.ErrNotFound)
}

func (s *store) CreateJob(ns string, job *batchv1.Job) (*batchv1.Job, error) {
	if _, ok := s.jobs[job.Name]; ok {
		return nil, fmt.Errorf("job %s: %w", job.Name, backends.ErrAlreadyExists)
	}
	s.n++
	j := job.DeepCopy()
	j.UID = types.UID(fmt.Sprintf("uid-%d", s.n))
	s.jobs[j.Name], s.created = j, append(s.created, j.Name)
	return j, nil
}

func (s *store) DeleteJob(ns, name string) error {
	if _, ok := s.jobs[name]; !ok {
		return backends.ErrNotFound
	}
	delete(s.jobs, name)
	s.deleted = append(s.deleted, name)
	return nil
}

func (s *store) list() []*batchv1.Job {
	var out []*batchv1.Job
	for _, j := range s.jobs {
		out = append(out, j)
	}
	return out
}

// sync runs one Sync at now and returns the CronJob, the events and the requeue.
func sync(t *testing.T, s *store, cj *batchv1.CronJob, now time.Time) (*batchv1.CronJob, []string, *time.Duration) {
	t.Helper()
	var events []string
	c := &Controller{Jobs: s, Now: func() time.Time { return now },
		Record: func(typ, reason, msg string) { events = append(events, reason+": "+msg) }}
	out, _, requeue, err := c.Sync(cj, s.list())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return out, events, requeue
}

func finished(j *batchv1.Job, cond batchv1.JobConditionType, start, end time.Time) *batchv1.Job {
	j = j.DeepCopy()
	j.Status.StartTime, j.Status.CompletionTime = &metav1.Time{Time: start}, &metav1.Time{Time: end}
	j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
	return j
}

func TestSyncCreatesTheJobOfTheScheduledTime(t *testing.T) {
	s := newStore()
	cj, events, requeue := sync(t, s, cronJob("0 * * * *"), at(30*time.Second))
	want := JobName("mycronjob", topOfTheHour)
	if len(s.created) != 1 || s.created[0] != want || want != "mycronjob-24394200" {
		t.Fatalf("created %v, want [%s]", s.created, want)
	}
	j := s.jobs[want]
	if j.Annotations[backends.ScheduledTimeAnnotation] != "2016-05-19T10:00:00Z" || j.Labels["a"] != "b" || !metav1.IsControlledBy(j, cj) {
		t.Errorf("job annotations %v, labels %v, owners %v", j.Annotations, j.Labels, j.OwnerReferences)
	}
	if len(cj.Status.Active) != 1 || !cj.Status.LastScheduleTime.Time.Equal(topOfTheHour) {
		t.Errorf("status %+v", cj.Status)
	}
	if len(events) != 1 || !strings.HasPrefix(events[0], "SuccessfulCreate: Created job "+want) {
		t.Errorf("events %v", events)
	}
	if requeue == nil || *requeue != 59*time.Minute+30*time.Second+nextScheduleDelta {
		t.Errorf("requeue %v, want the next hour", requeue)
	}
	// The same time again: already processed.
	_, _, _ = sync(t, s, cj, at(40*time.Second))
	if len(s.created) != 1 {
		t.Errorf("created %v twice", s.created)
	}
}

func TestSyncForbidSkipsWhileActive(t *testing.T) {
	s := newStore()
	cj := cronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent })
	cj, _, _ = sync(t, s, cj, at(time.Second))
	cj, events, _ := sync(t, s, cj, at(time.Hour+time.Second))
	if len(s.created) != 1 || len(events) != 1 || !strings.HasPrefix(events[0], "JobAlreadyActive") {
		t.Fatalf("created %v, events %v: want the second run skipped", s.created, events)
	}
	// Once it ends, the most recent missed run starts (no deadline).
	first := s.created[0]
	s.jobs[first] = finished(s.jobs[first], batchv1.JobComplete, at(time.Second), at(time.Hour+2*time.Second))
	cj, events, _ = sync(t, s, cj, at(time.Hour+3*time.Second))
	if len(s.created) != 2 || s.created[1] != JobName("mycronjob", at(time.Hour)) {
		t.Errorf("created %v, events %v: want the missed run", s.created, events)
	}
	if cj.Status.LastSuccessfulTime == nil || !cj.Status.LastSuccessfulTime.Time.Equal(at(time.Hour+2*time.Second)) {
		t.Errorf("lastSuccessfulTime %v", cj.Status.LastSuccessfulTime)
	}
}

func TestSyncReplaceDeletesTheActiveJob(t *testing.T) {
	s := newStore()
	cj := cronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent })
	cj, _, _ = sync(t, s, cj, at(time.Second))
	cj, events, _ := sync(t, s, cj, at(time.Hour+time.Second))
	if len(s.deleted) != 1 || s.deleted[0] != s.created[0] || len(s.created) != 2 || len(cj.Status.Active) != 1 {
		t.Errorf("created %v, deleted %v, active %v, events %v", s.created, s.deleted, cj.Status.Active, events)
	}
}

func TestSyncStartingDeadline(t *testing.T) {
	s := newStore()
	cj := cronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr(int64(10)) })
	_, events, _ := sync(t, s, cj, at(11*time.Second))
	if len(s.created) != 0 {
		t.Errorf("created %v 11s late with a 10s deadline (events %v)", s.created, events)
	}
	_, _, _ = sync(t, s, cj, at(9*time.Second))
	if len(s.created) != 1 {
		t.Errorf("created %v 9s late with a 10s deadline", s.created)
	}
}

func TestSyncSuspendedAndUnusable(t *testing.T) {
	s := newStore()
	cj := cronJob("* * * * *", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr(true) })
	_, _, requeue := sync(t, s, cj, at(time.Hour))
	if len(s.created) != 0 || requeue != nil {
		t.Errorf("suspended: created %v, requeue %v", s.created, requeue)
	}
	_, events, _ := sync(t, s, cronJob("59 23 31 2 *"), at(1_000_000*time.Hour))
	if len(s.created) != 0 || len(events) != 1 || !strings.HasPrefix(events[0], "InvalidSchedule") {
		t.Errorf("31 February: created %v, events %v", s.created, events)
	}
	_, events, _ = sync(t, s, cronJob("* * * * *", created(at(-1000*time.Hour))), at(0))
	if len(events) < 1 || !strings.HasPrefix(events[0], "TooManyMissedTimes") {
		t.Errorf("a thousand hours late: events %v", events)
	}
}

func TestSyncHistoryLimits(t *testing.T) {
	cj := cronJob("0 0 1 1 *", func(cj *batchv1.CronJob) {
		cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = ptr(int32(1)), ptr(int32(0))
	})
	var jobs []*batchv1.Job
	for i, cond := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed, batchv1.JobComplete, batchv1.JobComplete} {
		j := ManualJob(cj, fmt.Sprintf("manual-%d", i))
		j.UID = types.UID(fmt.Sprintf("m%d", i))
		jobs = append(jobs, finished(j, cond, at(time.Duration(i)*time.Minute), at(time.Duration(i)*time.Minute+time.Second)))
	}
	s := newStore(jobs...)
	_, _, _ = sync(t, s, cj, at(time.Hour))
	if strings.Join(s.deleted, ",") != "manual-0,manual-2,manual-1" {
		t.Errorf("deleted %v, want the two oldest succeeded and the failed one", s.deleted)
	}
}

func TestManualJobAndNames(t *testing.T) {
	cj := cronJob("@hourly")
	j := ManualJob(cj, "by-hand")
	if j.Annotations[backends.InstantiateAnnotation] != "manual" || !metav1.IsControlledBy(j, cj) || j.Labels["a"] != "b" {
		t.Errorf("manual job %+v", j.ObjectMeta)
	}
	long := strings.Repeat("x", 52)
	if n := ManualJobName(long, "abcde"); len(n) > 63 || !strings.HasSuffix(n, "-manual-abcde") {
		t.Errorf("ManualJobName = %q (%d)", n, len(n))
	}
	if n := JobName(long, time.Now()); len(n) > 63 {
		t.Errorf("JobName = %q (%d): over 63 for a 52-character CronJob", n, len(n))
	}
	next := NextScheduleTime(cronJob("0 * * * *", created(topOfTheHour)), at(10*time.Minute))
	if next == nil || !next.Equal(at(time.Hour)) {
		t.Errorf("NextScheduleTime = %v, want %v", next, at(time.Hour))
	}
	if NextScheduleTime(cronJob("0 * * * *", func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr(true) }), at(0)) != nil {
		t.Error("a suspended CronJob has a next run")
	}
}
