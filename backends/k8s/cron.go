package k8s

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/croncontroller"
	"github.com/batchctl/batchctl/jobspec"
)

// A CronJob is a native batch/v1 CronJob: kube-controller-manager's
// cronjob-controller schedules it. batchctl adds its managed-by label to
// the CronJob and, in the jobTemplate, the managed-by label and
// backends.CronJobLabel, which the controller copies to every Job: `list`
// shows them and a CronJob's Jobs are one labelled list away.

var _ backends.Scheduler = (*backend)(nil)

// cronRequest starts a request on cronjobs (batch/v1).
func (b *backend) cronRequest(verb, ns string) *rest.Request {
	return b.client.batch.Verb(verb).UseProtobufAsDefault().Namespace(ns).Resource("cronjobs")
}

// cronCall is call for a CronJob: its errors name the CronJob.
func (b *backend) cronCall(ctx context.Context, op string, ref backends.Ref, fn func(context.Context) error) error {
	err := b.call(ctx, op, ref, fn)
	var be *backends.Error
	if errors.As(err, &be) {
		switch {
		case errors.Is(err, backends.ErrNotFound):
			be.Msg = fmt.Sprintf("cronjob %s not found", ref.Name)
		case errors.Is(err, backends.ErrAlreadyExists):
			be.Msg = fmt.Sprintf("cronjob %s already exists in namespace %s", ref.Name, ref.Namespace)
		case errors.Is(err, backends.ErrInvalid):
			be.Msg = strings.Replace(be.Msg, "rejected the job", "rejected the cronjob", 1)
		}
	}
	return err
}

func (b *backend) RenderCronJob(cj *jobspec.CronJob) (*backends.Rendering, error) {
	return &backends.Rendering{Native: b.cronObject(cj)}, nil
}

// cronObject is the CronJob as sent: the manifest, the namespace in force,
// the labels that link it and its Jobs to batchctl.
func (b *backend) cronObject(cj *jobspec.CronJob) *batchv1.CronJob {
	obj := cj.Object.DeepCopy()
	obj.APIVersion, obj.Kind = "batch/v1", "CronJob"
	obj.Namespace = b.ns(backends.Ref{Namespace: cj.Namespace})
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	obj.Labels[backends.ManagedByLabel] = backends.ManagedByValue
	t := &obj.Spec.JobTemplate
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[backends.ManagedByLabel] = backends.ManagedByValue
	if obj.Name != "" {
		t.Labels[backends.CronJobLabel] = obj.Name
	}
	return obj
}

func (b *backend) SubmitCronJob(ctx context.Context, cj *jobspec.CronJob) (*backends.CronJobStatus, error) {
	if err := b.connect(); err != nil {
		return nil, err
	}
	obj := b.cronObject(cj)
	ref := backends.Ref{Name: obj.Name, Namespace: obj.Namespace}
	if ref.Name == "" {
		ref.Name = obj.GenerateName + "*"
	}
	created := &batchv1.CronJob{}
	err := b.cronCall(ctx, "submit", ref, func(ctx context.Context) error {
		return b.cronRequest("POST", obj.Namespace).
			VersionedParams(&metav1.CreateOptions{FieldManager: "batchctl"}, b.client.params).
			Body(obj).Do(ctx).Into(created)
	})
	if err != nil {
		return nil, err
	}
	if obj.Name == "" {
		// The name is the server's: label the template with it now.
		ref.Name = created.Name
		patch := fmt.Appendf(nil, `{"spec":{"jobTemplate":{"metadata":{"labels":{%q:%q}}}}}`, backends.CronJobLabel, created.Name)
		if err := b.cronCall(ctx, "submit", ref, func(ctx context.Context) error {
			return b.patchCronJob(ctx, created, patch)
		}); err != nil {
			return nil, err
		}
	}
	return cronStatus(created, nil, false), nil
}

func (b *backend) patchCronJob(ctx context.Context, into *batchv1.CronJob, patch []byte) error {
	return b.cronRequest("PATCH", into.Namespace).Name(into.Name).
		SetHeader("Content-Type", string(types.MergePatchType)).
		VersionedParams(&metav1.PatchOptions{FieldManager: "batchctl"}, b.client.params).
		Body(patch).Do(ctx).Into(into)
}

func (b *backend) getCronJob(ctx context.Context, op string, ref backends.Ref) (*batchv1.CronJob, error) {
	if err := b.connect(); err != nil {
		return nil, err
	}
	ref.Namespace = b.ns(ref)
	cj := &batchv1.CronJob{}
	err := b.cronCall(ctx, op, ref, func(ctx context.Context) error {
		return b.cronRequest("GET", ref.Namespace).Name(ref.Name).
			VersionedParams(&metav1.GetOptions{}, b.client.params).Do(ctx).Into(cj)
	})
	return cj, err
}

// cronJobsOf lists the Jobs cj controls: those with its label (one
// request, filtered by the API server), whose controller is cj.
func (b *backend) cronJobsOf(ctx context.Context, op string, cj *batchv1.CronJob) ([]batchv1.Job, error) {
	ref := backends.Ref{Name: cj.Name, Namespace: cj.Namespace}
	var list *batchv1.JobList
	err := b.call(ctx, op, ref, func(ctx context.Context) error {
		var err error
		list, err = b.client.listJobs(ctx, cj.Namespace, metav1.ListOptions{LabelSelector: cronSelector(cj.Name)})
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		if metav1.IsControlledBy(&j, cj) {
			out = append(out, j)
		}
	}
	return out, nil
}

func cronSelector(name string) string {
	return labels.Set{backends.CronJobLabel: name}.String()
}

// cronStatus normalizes a CronJob and, withJobs, its Jobs.
func cronStatus(cj *batchv1.CronJob, jobs []batchv1.Job, withJobs bool) *backends.CronJobStatus {
	s := &cj.Spec
	out := &backends.CronJobStatus{
		Name: cj.Name, Namespace: cj.Namespace, Backend: Name, UID: string(cj.UID),
		Schedule: s.Schedule, ConcurrencyPolicy: string(s.ConcurrencyPolicy),
		StartingDeadlineSeconds:    s.StartingDeadlineSeconds,
		SuccessfulJobsHistoryLimit: derefInt(s.SuccessfulJobsHistoryLimit, jobspec.DefaultSuccessfulJobsHistoryLimit),
		FailedJobsHistoryLimit:     derefInt(s.FailedJobsHistoryLimit, jobspec.DefaultFailedJobsHistoryLimit),
		Suspended:                  s.Suspend != nil && *s.Suspend,
		Labels:                     cj.Labels,
		Active:                     []string{},
		Scheduler:                  "kube-controller-manager (cronjob-controller)",
	}
	if out.ConcurrencyPolicy == "" {
		out.ConcurrencyPolicy = string(batchv1.AllowConcurrent)
	}
	if s.TimeZone != nil {
		out.TimeZone = *s.TimeZone
	}
	if t := cj.CreationTimestamp; !t.IsZero() {
		out.CreationTime = &t.Time
	}
	if t := cj.Status.LastScheduleTime; t != nil {
		out.LastScheduleTime = &t.Time
	}
	if t := cj.Status.LastSuccessfulTime; t != nil {
		out.LastSuccessfulTime = &t.Time
	}
	for _, a := range cj.Status.Active {
		out.Active = append(out.Active, a.Name)
	}
	// Without a time zone the controller manager's own applies; it is
	// taken to be UTC, as a cluster's usually is.
	next := cj.DeepCopy()
	if next.Spec.TimeZone == nil {
		utc := "UTC"
		next.Spec.TimeZone = &utc
	}
	if cj.CreationTimestamp.IsZero() {
		next.CreationTimestamp = metav1.Now()
	}
	out.NextScheduleTime = croncontroller.NextScheduleTime(next, time.Now())
	if withJobs {
		out.Jobs = []backends.CronJobRun{}
		for i := range jobs {
			out.Jobs = append(out.Jobs, cronRun(&jobs[i]))
		}
		backends.SortCronJobRuns(out.Jobs)
	}
	out.State = out.StateOf()
	return out
}

func cronRun(j *batchv1.Job) backends.CronJobRun {
	r := backends.CronJobRun{Status: *toStatus(j)}
	if v, ok := j.Annotations[backends.ScheduledTimeAnnotation]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			r.ScheduledTime = &t
		}
	}
	r.Manual = r.ScheduledTime == nil
	return r
}

func derefInt(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func (b *backend) CronJobStatus(ctx context.Context, ref backends.Ref, detail bool) (*backends.CronJobStatus, error) {
	cj, err := b.getCronJob(ctx, "status", ref)
	if err != nil {
		return nil, err
	}
	jobs, err := b.cronJobsOf(ctx, "status", cj)
	if err != nil {
		return nil, err
	}
	out := cronStatus(cj, jobs, true)
	if detail {
		ref.Namespace = cj.Namespace
		var list *corev1.EventList
		err := b.call(ctx, "describe", ref, func(ctx context.Context) error {
			var err error
			list, err = b.client.listEvents(ctx, cj.Namespace, metav1.ListOptions{FieldSelector: fields.Set{
				"involvedObject.kind": "CronJob", "involvedObject.name": cj.Name, "involvedObject.uid": string(cj.UID),
			}.String()})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, e := range list.Items {
			out.Events = append(out.Events, backends.Event{Time: eventTime(e), Type: e.Type, Reason: e.Reason,
				Object: "CronJob/" + cj.Name, Message: e.Message})
		}
		sortByTime(out.Events)
	}
	return out, nil
}

func sortByTime(evs []backends.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time.Before(evs[j-1].Time); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func (b *backend) ListCronJobs(ctx context.Context, opts backends.ListOptions) ([]*backends.CronJobStatus, error) {
	if err := b.connect(); err != nil {
		return nil, err
	}
	ns := b.ns(backends.Ref{Namespace: opts.Namespace})
	if opts.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	sel, err := managedSelector(opts)
	if err != nil {
		return nil, err
	}
	list := &batchv1.CronJobList{}
	err = b.call(ctx, "list", backends.Ref{Namespace: ns}, func(ctx context.Context) error {
		return b.cronRequest("GET", ns).VersionedParams(&metav1.ListOptions{LabelSelector: sel.String()}, b.client.params).
			Do(ctx).Into(list)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*backends.CronJobStatus, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, cronStatus(&list.Items[i], nil, false))
	}
	backends.SortCronJobs(out)
	return out, nil
}

func (b *backend) SuspendCronJob(ctx context.Context, ref backends.Ref, suspend bool) error {
	op := "resume"
	if suspend {
		op = "suspend"
	}
	cj, err := b.getCronJob(ctx, op, ref)
	if err != nil {
		return err
	}
	ref.Namespace = cj.Namespace
	patch := fmt.Appendf(nil, `{"spec":{"suspend":%t}}`, suspend)
	return b.cronCall(ctx, op, ref, func(ctx context.Context) error { return b.patchCronJob(ctx, cj, patch) })
}

func (b *backend) TriggerCronJob(ctx context.Context, ref backends.Ref, name string) (*backends.Status, error) {
	cj, err := b.getCronJob(ctx, "trigger", ref)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = croncontroller.ManualJobName(cj.Name, randomSuffix())
	}
	job := croncontroller.ManualJob(cj, name)
	jref := backends.Ref{Name: name, Namespace: cj.Namespace}
	var created *batchv1.Job
	err = b.call(ctx, "trigger", jref, func(ctx context.Context) error {
		var err error
		created, err = b.client.createJob(ctx, job, metav1.CreateOptions{FieldManager: "batchctl"})
		return err
	})
	if err != nil {
		return nil, err
	}
	return toStatus(created), nil
}

// randomSuffix is 5 characters of Kubernetes' alphabet for generated names.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// DeleteCronJob deletes the CronJob, then its Jobs (with their pods, in the
// background), rather than leave them to the garbage collector's pace.
func (b *backend) DeleteCronJob(ctx context.Context, ref backends.Ref) error {
	cj, err := b.getCronJob(ctx, "delete", ref)
	if err != nil {
		return err
	}
	ref.Namespace = cj.Namespace
	policy := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &cj.UID}}
	err = b.cronCall(ctx, "delete", ref, func(ctx context.Context) error {
		return b.cronRequest("DELETE", cj.Namespace).Name(cj.Name).Body(&opts).Do(ctx).Error()
	})
	if err != nil {
		return err
	}
	jobs, err := b.cronJobsOf(ctx, "delete", cj)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		jref := backends.Ref{Name: j.Name, Namespace: j.Namespace}
		err := b.call(ctx, "delete", jref, func(ctx context.Context) error {
			return b.client.deleteJob(ctx, j.Namespace, j.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		})
		if err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
	}
	return nil
}

// WatchCronJob follows the CronJob and its Jobs through two informers (list,
// then watch; re-listing after a dropped connection) and reports the status
// computed from what they hold whenever it changes.
func (b *backend) WatchCronJob(ctx context.Context, ref backends.Ref, fn func(*backends.CronJobStatus) bool) error {
	cj, err := b.getCronJob(ctx, "watch", ref)
	if err != nil {
		return err
	}
	ref.Namespace = cj.Namespace
	jobs, err := b.cronJobsOf(ctx, "watch", cj)
	if err != nil {
		return err
	}
	st := cronStatus(cj, jobs, true)
	last := cronFingerprint(st)
	if fn(st) {
		return nil
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	fail := func(err error) error {
		if err != nil && permanent(err) {
			stop(err)
		}
		return err
	}
	var mu sync.Mutex
	cur := cj
	byUID := map[types.UID]*batchv1.Job{}
	for i := range jobs {
		byUID[jobs[i].UID] = &jobs[i]
	}
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	uid := cj.UID
	cronLW := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cj.Name).String()
			list := &batchv1.CronJobList{}
			err := b.cronRequest("GET", cj.Namespace).VersionedParams(&o, b.client.params).Do(ctx).Into(list)
			return list, fail(err)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cj.Name).String()
			o.Watch = true
			w, err := b.cronRequest("GET", cj.Namespace).VersionedParams(&o, b.client.params).Watch(ctx)
			return w, fail(err)
		},
	}
	jobLW := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = cronSelector(cj.Name)
			list, err := b.client.listJobs(ctx, cj.Namespace, o)
			return list, fail(err)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = cronSelector(cj.Name)
			w, err := b.client.watch(ctx, cj.Namespace, "jobs", o)
			return w, fail(err)
		},
	}
	onCron := func(obj any, gone bool) {
		c, ok := obj.(*batchv1.CronJob)
		if !ok {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				c, _ = d.Obj.(*batchv1.CronJob)
			}
		}
		if c == nil {
			return
		}
		if gone || c.UID != uid {
			stop(errGone)
			return
		}
		mu.Lock()
		cur = c
		mu.Unlock()
		notify()
	}
	onJob := func(obj any, gone bool) {
		j, ok := obj.(*batchv1.Job)
		if !ok {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				j, _ = d.Obj.(*batchv1.Job)
			}
		}
		if j == nil || !metav1.IsControlledBy(j, cj) {
			return
		}
		mu.Lock()
		if gone {
			delete(byUID, j.UID)
		} else {
			byUID[j.UID] = j
		}
		mu.Unlock()
		notify()
	}
	handlers := func(f func(any, bool)) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { f(o, false) },
			UpdateFunc: func(_, o any) { f(o, false) },
			DeleteFunc: func(o any) { f(o, true) },
		}
	}
	_, cronInf := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: cronLW, ObjectType: &batchv1.CronJob{}, Handler: handlers(onCron)})
	_, jobInf := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: jobLW, ObjectType: &batchv1.Job{}, Handler: handlers(onJob)})
	go cronInf.RunWithContext(ctx)
	go jobInf.RunWithContext(ctx)
	// The next run is due at a time, not at an event: report it then too.
	for {
		var tick <-chan time.Time
		if st.NextScheduleTime != nil {
			tick = time.After(time.Until(*st.NextScheduleTime) + time.Second)
		}
		select {
		case <-ctx.Done():
			cause := context.Cause(ctx)
			switch {
			case errors.Is(cause, errGone):
				return &backends.Error{Kind: backends.ErrNotFound, Op: "watch", Ref: ref, Msg: fmt.Sprintf("cronjob %s was deleted", ref.Name)}
			case errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded):
				return cause
			}
			return b.classify("watch", ref, cause)
		case <-changed:
		case <-tick:
		}
		mu.Lock()
		list := make([]batchv1.Job, 0, len(byUID))
		for _, j := range byUID {
			list = append(list, *j)
		}
		st = cronStatus(cur, list, true)
		mu.Unlock()
		if fp := cronFingerprint(st); fp != last {
			last = fp
			if fn(st) {
				return nil
			}
		}
	}
}

// cronFingerprint is what a watcher of a CronJob sees change.
func cronFingerprint(c *backends.CronJobStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%v|%v|%v|%s|", c.UID, c.State, c.Suspended, c.LastScheduleTime, c.LastSuccessfulTime, c.NextScheduleTime, strings.Join(c.Active, ","))
	for _, j := range c.Jobs {
		fmt.Fprintf(&b, "%s/%s/%d/%d/%d;", j.UID, j.Phase, j.Active, j.Succeeded, j.Failed)
	}
	return b.String()
}
