package jobcontroller

import (
	"errors"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Machine is one Job's controller and kubelet. Not safe for concurrent use.
type Machine struct {
	job     *batchv1.Job // defaulted; Spec.Suspend follows Suspend and Resume
	opts    Options
	name    string
	created time.Time
	pods    []*pod // creation order
	// live: the pods not settled (see settled), creation order. Decisions
	// read these only, so that a step costs what runs, not what ran.
	live      []*pod
	byName    map[string]*pod
	seq       int
	actions   []Action
	events    []backends.Event
	requeueAt time.Time // pod creation held back by a backoff until then
	// deletedNow: pods the current sync deleted, which its status update
	// still sees undeleted, as the controller's informer would.
	deletedNow map[*pod]bool

	// Job status.
	conditions     []batchv1.JobCondition
	startTime      *time.Time
	completionTime *time.Time
	active         int32
	terminating    int32
	succeeded      int32 // NonIndexed; Indexed: completed.total()
	failed         int32
	completed      intervals
	failedIndexes  *intervals // only with backoffLimitPerIndex
	backoff        backoffRecord
}

// New starts a machine for job, as the user wrote it (Kubernetes' defaults
// are applied here); now is its creation time. The first actions are ready
// at once. Jobs the machine cannot run faithfully are refused.
func New(job *batchv1.Job, opts Options, now time.Time) (*Machine, error) {
	if job == nil {
		return nil, errors.New("jobcontroller: no job")
	}
	j := jobspec.Defaults(job)
	if err := check(j); err != nil {
		return nil, err
	}
	m := &Machine{job: j, opts: opts.withDefaults(), created: now, byName: map[string]*pod{}}
	m.name = j.Name
	if m.name == "" {
		m.name = j.GenerateName
	}
	m.sync(now)
	return m, nil
}

func check(j *batchv1.Job) error {
	s := &j.Spec
	if p := s.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		return fmt.Errorf("jobcontroller: restartPolicy %q: a Job needs OnFailure or Never", p)
	}
	if isIndexed(j) && s.Completions == nil {
		return errors.New("jobcontroller: an Indexed job needs completions")
	}
	if !isIndexed(j) && (s.BackoffLimitPerIndex != nil || s.MaxFailedIndexes != nil || s.SuccessPolicy != nil) {
		return errors.New("jobcontroller: backoffLimitPerIndex, maxFailedIndexes and successPolicy need completionMode Indexed")
	}
	if s.PodFailurePolicy != nil && s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		return errors.New("jobcontroller: podFailurePolicy needs restartPolicy Never")
	}
	if len(s.Template.Spec.Containers) == 0 {
		return errors.New("jobcontroller: the pod template has no containers")
	}
	for _, c := range s.Template.Spec.InitContainers {
		if c.RestartPolicy != nil {
			return fmt.Errorf("jobcontroller: init container %q: restartPolicy (sidecar containers) is not supported", c.Name)
		}
	}
	for _, c := range s.Template.Spec.Containers {
		if c.RestartPolicy != nil || len(c.RestartPolicyRules) > 0 {
			return fmt.Errorf("jobcontroller: container %q: container restart rules are not supported", c.Name)
		}
	}
	return nil
}

func (m *Machine) policy() corev1.RestartPolicy { return m.job.Spec.Template.Spec.RestartPolicy }
func (m *Machine) suspended() bool              { return *m.job.Spec.Suspend }

func (m *Machine) act(a Action) { m.actions = append(m.actions, a) }

func (m *Machine) event(now time.Time, typ, reason, object, msg string) {
	m.events = append(m.events, backends.Event{Time: now, Type: typ, Reason: reason, Object: object, Message: msg})
}

// TakeActions returns the actions decided since the last call, in order.
func (m *Machine) TakeActions() []Action {
	a := m.actions
	m.actions = nil
	return a
}

// ContainerStarted: the container's process runs.
func (m *Machine) ContainerStarted(podName, container string, now time.Time) {
	p, c := m.lookup(podName, container)
	if c == nil || c.state != cStarting {
		return
	}
	c.state, c.started, c.ran, c.waitReason = cRunning, now, true, ""
	c.pullFails = 0
	if !p.stopping && !p.terminal() {
		m.refreshPhase(p, now)
	}
	m.event(now, "Normal", "Created", pod_(p), "Container created")
	m.event(now, "Normal", "Started", pod_(p), "Container started")
	m.after(now)
}

// ContainerExited: the container's process ended (or could not start).
func (m *Machine) ContainerExited(podName, container string, exit Exit, now time.Time) {
	p, c := m.lookup(podName, container)
	if c == nil || (c.state != cStarting && c.state != cRunning) {
		return
	}
	if waitingReasons[exit.Reason] {
		// Never ran: the pod stays Pending and the kubelet tries again.
		c.state, c.waitReason = cWaiting, exit.Reason
		c.pullFails++
		if !p.stopping {
			c.retryAt = now.Add(m.pullRetry(c.pullFails))
		}
		m.event(now, "Warning", "Failed", pod_(p), "Error: "+exit.Reason)
		m.after(now)
		return
	}
	reason := exit.Reason
	if reason == "" {
		reason = "Error"
		if exit.Code == 0 {
			reason = "Completed"
		}
	}
	started := c.started
	if c.state == cStarting { // never reported running
		started = time.Time{}
	}
	c.state, c.ran = cTerminated, true
	c.cur = termination{code: exit.Code, reason: reason, started: started, finished: now}
	if !p.stopping && !p.terminal() {
		m.refreshPhase(p, now)
		if r := &p.runs[len(p.runs)-1]; !p.terminal() && !r.finished && exit.Code != 0 && m.policy() == corev1.RestartPolicyOnFailure {
			// The attempt ends with the failure, not when the restart comes.
			code := exit.Code
			p.closeRun(corev1.PodFailed, &code, c.reasonOf(c.cur), now)
		}
		m.podSync(p, now)
	} else {
		p.updateReady(now)
	}
	m.after(now)
}

// PodTerminated: no process of the pod is left (after StopPod or KillPod,
// or because the runtime lost it).
func (m *Machine) PodTerminated(podName string, now time.Time) {
	p := m.byName[podName]
	if p == nil || p.gone {
		return
	}
	m.terminate(p, now)
	m.after(now)
}

// PodDisrupted: something other than the job stopped the pod, with the
// DisruptionTarget reason Kubernetes would record: TerminationByKubelet
// (node-pressure eviction; the default), EvictionByEvictionAPI,
// PreemptionByScheduler, DeletionByTaintManager, or DeletionByPodGC (the
// pod is lost: Failed at once, whatever is left is killed).
func (m *Machine) PodDisrupted(podName, reason string, now time.Time) {
	p := m.byName[podName]
	if p == nil || p.terminal() || p.gone {
		return
	}
	if reason == "" {
		reason = corev1.PodReasonTerminationByKubelet
	}
	d, known := disruptions[reason]
	if !known {
		d = disruptions[corev1.PodReasonTerminationByKubelet]
	}
	p.disruption = &corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: d.message}
	switch {
	case reason == "DeletionByPodGC":
		// gc_controller.go markFailedAndDeletePodWithCondition: Failed, then
		// deleted without grace.
		m.markDeleted(p, now)
		p.gone = true
		for _, cs := range [][]*container{p.inits, p.ctrs} {
			for _, c := range cs {
				if c.state == cRunning || c.state == cStarting {
					c.state, c.cur = cTerminated, termination{code: 137, reason: "ContainerStatusUnknown", started: c.started, finished: now}
				}
			}
		}
		m.finishPod(p, corev1.PodFailed, now)
		m.act(KillPod{Pod: p.name})
		p.killed = true
	case d.deleted:
		m.markDeleted(p, now)
		m.stopPod(p, m.podGrace(), now)
	default:
		// eviction_manager.go evictPod: a hard eviction's 1 s grace, which
		// the runtime raises to its 2 s minimum.
		p.forceFailed, p.reason, p.message = true, "Evicted", d.message
		m.event(now, "Warning", "Evicted", pod_(p), d.message)
		m.stopPod(p, 0, now)
	}
	m.after(now)
}

// Suspend sets spec.suspend: active pods are deleted, not counted as failed.
func (m *Machine) Suspend(now time.Time) {
	*m.job.Spec.Suspend = true
	m.after(now)
}

// Resume clears spec.suspend; the deadline clock starts again.
func (m *Machine) Resume(now time.Time) {
	*m.job.Spec.Suspend = false
	m.after(now)
}

// Tick runs whatever timer is due at now.
func (m *Machine) Tick(now time.Time) {
	for _, p := range m.live {
		if p.stopping && !p.gone && !p.killed && !now.Before(p.killAt) {
			p.killed = true
			m.act(KillPod{Pod: p.name})
		}
		m.podSync(p, now)
	}
	m.after(now)
}

// NextTimer is when Tick must next be called, if ever.
func (m *Machine) NextTimer() (time.Time, bool) {
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !m.finished() {
		add(m.requeueAt)
		if d := m.deadline(); d != nil {
			add(*d)
		}
	}
	for _, p := range m.live {
		switch {
		case p.stopping && !p.gone && !p.killed:
			add(p.killAt)
		case !p.stopping && !p.terminal():
			if ads := m.job.Spec.Template.Spec.ActiveDeadlineSeconds; ads != nil {
				add(p.created.Add(time.Duration(*ads) * time.Second))
			}
			for _, cs := range [][]*container{p.inits, p.ctrs} {
				for _, c := range cs {
					add(c.restartAt)
					add(c.retryAt)
				}
			}
		}
	}
	return next, !next.IsZero()
}

// deadline is when the job's activeDeadlineSeconds runs out, while it can.
func (m *Machine) deadline() *time.Time {
	ads := m.job.Spec.ActiveDeadlineSeconds
	if ads == nil || m.startTime == nil || m.suspended() ||
		m.condition(batchv1.JobFailureTarget) != nil || m.condition(batchv1.JobSuccessCriteriaMet) != nil {
		return nil
	}
	t := m.startTime.Add(time.Duration(*ads) * time.Second)
	return &t
}

// Finished reports whether the outcome is final (condition Complete or
// Failed); pods may still be stopping (see Done).
func (m *Machine) Finished() bool { return m.finished() }

// Done reports whether the outcome is final and no pod process is left.
func (m *Machine) Done() bool {
	if !m.finished() {
		return false
	}
	for _, p := range m.live {
		if !p.gone {
			return false
		}
	}
	return true
}

// after runs the controller once an input was handled, then removes the
// pods Kubernetes would have deleted by now.
func (m *Machine) after(now time.Time) {
	m.sync(now)
	for _, p := range m.live {
		if p.goneFromAPI() && p.gone && !p.removed {
			p.removed = true
			m.act(RemovePod{Pod: p.name})
		}
	}
	m.live = slices.DeleteFunc(m.live, (*pod).settled)
}

func (m *Machine) lookup(podName, container string) (*pod, *container) {
	p := m.byName[podName]
	if p == nil {
		return nil, nil
	}
	return p, p.container(container)
}
