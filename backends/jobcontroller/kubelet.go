package jobcontroller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The kubelet's half: what happens inside one pod.

// minGrace is kuberuntime's minimumGracePeriodInSeconds: however short the
// pod's terminationGracePeriodSeconds, containers get this long after SIGTERM.
const minGrace = 2 * time.Second

const deadlineMessage = "Pod was active on the node longer than the specified deadline"

// podGrace is the pod's terminationGracePeriodSeconds, as a deletion uses it.
func (m *Machine) podGrace() time.Duration {
	return time.Duration(*m.job.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
}

// podSync is the kubelet's syncPod for a live pod: enforce the pod's
// deadline, then start what computePodActions would: the next init
// container, or every regular container; restart failed ones under
// OnFailure, subject to the crash-loop backoff.
func (m *Machine) podSync(p *pod, now time.Time) {
	if p.stopping || p.terminal() {
		return
	}
	// active_deadline.go: the pod's start time is when the kubelet first saw it.
	if ads := m.job.Spec.Template.Spec.ActiveDeadlineSeconds; ads != nil && !now.Before(p.created.Add(time.Duration(*ads)*time.Second)) {
		p.forceFailed, p.reason, p.message = true, "DeadlineExceeded", deadlineMessage
		m.event(now, "Normal", "DeadlineExceeded", pod_(p), deadlineMessage)
		m.stopPod(p, m.podGrace(), now)
		return
	}
	if !p.initialized() {
		for _, c := range p.inits {
			if c.terminatedWith(0) {
				continue
			}
			m.advance(p, c, now)
			return // init containers run one at a time
		}
	}
	for _, c := range p.ctrs {
		m.advance(p, c, now)
	}
}

// advance starts a container that has not run, or restarts one that failed
// under OnFailure.
func (m *Machine) advance(p *pod, c *container, now time.Time) {
	switch {
	case c.state == cWaiting && (c.retryAt.IsZero() || !now.Before(c.retryAt)):
		c.retryAt = time.Time{}
		m.startContainer(p, c, now)
	case c.state == cTerminated && c.cur.code != 0 && m.policy() == corev1.RestartPolicyOnFailure:
		m.restart(p, c, now)
	}
}

func (m *Machine) startContainer(p *pod, c *container, now time.Time) {
	c.state, c.started = cStarting, now
	m.act(StartContainer{Pod: p.name, Container: c.name, Init: c.init, Restart: c.restarts})
}

// restart is kuberuntime_manager.go doBackOff then a new container: the
// first restart is immediate; each later one waits, from the container's
// exit, for the backoff entry, which doubles at every restart up to the cap.
// The entry starts over when the run ended more than the reset window after
// the previous restart (kubelet.go HasExpiredFunc: 600 s).
func (m *Machine) restart(p *pod, c *container, now time.Time) {
	ts := c.cur.finished
	expired := c.boSet && ts.Sub(c.boUpdated) > m.opts.RestartBackoffReset
	if c.boSet && !expired && now.Sub(ts) < c.bo {
		if at := ts.Add(c.bo); !c.restartAt.Equal(at) {
			c.restartAt, c.waitReason = at, "CrashLoopBackOff"
			m.event(now, "Warning", "BackOff", pod_(p), "Back-off restarting failed container "+c.name+" in pod "+p.name)
		}
		return
	}
	if !c.boSet || expired {
		c.bo = m.opts.RestartBackoff
	} else {
		c.bo = min(2*c.bo, m.opts.RestartBackoffCap)
	}
	c.boSet, c.boUpdated = true, now
	c.restartAt, c.waitReason = time.Time{}, ""
	last := c.cur
	c.last = &last
	c.restarts++
	// The restart is a new attempt; the one it follows ended with the exit.
	if r := &p.runs[len(p.runs)-1]; !r.finished {
		code := last.code
		p.closeRun(corev1.PodFailed, &code, c.reasonOf(last), last.finished)
	}
	p.runs = append(p.runs, run{start: now, phase: p.phase})
	m.startContainer(p, c, now)
}

func (p *pod) closeRun(phase corev1.PodPhase, code *int32, reason string, end time.Time) {
	r := &p.runs[len(p.runs)-1]
	r.phase, r.code, r.reason, r.end, r.finished = phase, code, reason, end, true
}

// stopPod is the kubelet killing a pod: SIGTERM, SIGKILL after the grace
// period. The phase is decided once every process is gone (status_manager.go
// mergePodStatus never reports a terminal phase before that).
func (m *Machine) stopPod(p *pod, grace time.Duration, now time.Time) {
	if p.stopping || p.gone {
		return
	}
	grace = max(grace, minGrace)
	p.stopping, p.killAt = true, now.Add(grace)
	for _, cs := range [][]*container{p.inits, p.ctrs} {
		for _, c := range cs {
			c.restartAt, c.retryAt = time.Time{}, time.Time{}
			if c.state == cRunning {
				m.event(now, "Normal", "Killing", pod_(p), "Stopping container "+c.name)
			}
		}
	}
	m.act(StopPod{Pod: p.name, Grace: grace})
}

// terminate is the pod's end once nothing runs in it (status_manager.go
// TerminatePod): containers that never reported an end are marked
// ContainerStatusUnknown (137), and a pod that is not Succeeded is Failed.
func (m *Machine) terminate(p *pod, now time.Time) {
	p.gone = true
	ranRegular := false
	for _, c := range p.ctrs {
		ranRegular = ranRegular || c.ran
	}
	for _, cs := range [][]*container{p.inits, p.ctrs} {
		for _, c := range cs {
			if c.state == cRunning || (!c.init && ranRegular && c.state != cTerminated) {
				started := c.started
				if !c.ran {
					started = time.Time{}
				}
				c.state, c.cur = cTerminated, termination{code: 137, reason: "ContainerStatusUnknown", started: started, finished: now}
			}
		}
	}
	if p.terminal() {
		return
	}
	phase := corev1.PodFailed
	if !p.forceFailed {
		if ph := p.computePhase(m.policy(), true); ph == corev1.PodSucceeded {
			phase = ph
		}
	}
	m.finishPod(p, phase, now)
}

// finishPod records a terminal phase and ends the pod's current attempt,
// unless that ended already with a failure awaiting its restart.
func (m *Machine) finishPod(p *pod, phase corev1.PodPhase, now time.Time) {
	p.phase = phase
	p.updateReady(now)
	if p.runs[len(p.runs)-1].finished {
		return
	}
	code, reason := p.exitOf()
	if p.reason != "" {
		reason = p.reason
	}
	p.closeRun(phase, code, reason, now)
}

// refreshPhase recomputes a live pod's phase after a container changed.
func (m *Machine) refreshPhase(p *pod, now time.Time) {
	ph := p.computePhase(m.policy(), false)
	if ph == corev1.PodSucceeded || ph == corev1.PodFailed {
		p.gone = true // nothing runs in a pod that ended by itself
		m.finishPod(p, ph, now)
		return
	}
	p.phase = ph
	p.updateReady(now)
	if r := &p.runs[len(p.runs)-1]; !r.finished {
		r.phase = ph
	}
}

// waitingReasons are container errors that leave it waiting, never run
// (the kubelet retries them with the image backoff, 10 s doubling to 300 s).
var waitingReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerError": true, "CreateContainerConfigError": true,
}

// pullRetry is the delay before the n-th retry (n ≥ 1) of a waiting error.
func (m *Machine) pullRetry(n int) time.Duration {
	d := m.opts.RestartBackoff
	for i := 1; i < n && d < m.opts.RestartBackoffCap; i++ {
		d *= 2
	}
	return min(d, m.opts.RestartBackoffCap)
}

// disruptions maps a DisruptionTarget reason to how Kubernetes carries it
// out: deleted through the API (the kubelet then stops it) or terminated by
// the kubelet itself (pod Failed, not deleted), and the condition message.
var disruptions = map[string]struct {
	deleted bool
	message string
}{
	"EvictionByEvictionAPI":  {true, "Eviction API: evicting"},
	"PreemptionByScheduler":  {true, "default-scheduler: preempting to accommodate a higher priority pod"},
	"DeletionByTaintManager": {true, "Taint manager: deleting due to NoExecute taint"},
	"DeletionByPodGC":        {true, "PodGC: node no longer exists"},
	"TerminationByKubelet":   {false, "The node was low on resource: memory."},
}

// pod_ names a pod as an event's object.
func pod_(p *pod) string { return "Pod/" + p.name }
