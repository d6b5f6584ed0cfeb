//go:build linux

package scriptkubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// How a pod stops: deleted, past its activeDeadlineSeconds, or evicted by
// the node; and how its last status is made.

// deadline is pod activeDeadlineSeconds passing (the kubelet's
// activeDeadlineHandler): the pod fails and its containers are stopped.
func (r *podRunner) deadline() {
	if r.terminal || r.terminating {
		return
	}
	r.reason, r.msg = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
	grace := defaultGracePeriod
	if g := r.spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	r.terminate(grace, "active deadline")
}

// evict is the kubelet's hard node-pressure eviction.
func (r *podRunner) evict() {
	if r.terminal || r.terminating {
		return
	}
	r.reason, r.msg = "Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi, available: 10Mi. "
	r.disruption = true
	r.terminate(evictionGracePeriod, "evicted")
}

// terminate stops the pod's containers: SIGTERM, which ends a container at
// once with 143 unless it ignores SIGTERM; SIGKILL (137) after grace.
// Containers not started, or waiting for a restart, stay so.
func (r *podRunner) terminate(grace time.Duration, why string) {
	if r.terminal {
		r.deleteIfDone()
		return
	}
	if r.terminating {
		if grace < r.grace { // a shorter grace period overrides a running one
			r.grace = grace
			r.killAfter(grace)
		}
		return
	}
	r.terminating, r.grace = true, grace
	r.trace("terminating (%s), grace %v", why, grace)
	for _, t := range r.timers {
		t.Stop()
	}
	for _, c := range r.all() {
		switch c.state {
		case backingOff:
			c.stopTimers()
		case running:
			if !c.eff.IgnoreSigterm {
				r.exited(c, 143)
			}
		}
	}
	r.killAfter(grace)
	r.finishTermination()
}

func (r *podRunner) killAfter(grace time.Duration) {
	for _, c := range r.all() {
		if c.state == running {
			gen := c.gen
			c.timers = append(c.timers, r.after(grace, func() {
				if c.gen == gen {
					r.exited(c, 137)
				}
			}))
		}
	}
}

// finishTermination ends the pod once no container runs.
func (r *podRunner) finishTermination() {
	if r.terminal {
		return
	}
	for _, c := range r.all() {
		if c.state == running {
			return
		}
	}
	p := r.computePhase(true)
	if r.reason != "" {
		p = corev1.PodFailed // deadline and eviction fail the pod whatever the exit codes
	}
	r.becomeTerminal(p)
}

// becomeTerminal records the terminal phase as the status manager's
// TerminatePod does: containers still shown waiting are reported
// terminated (137, ContainerStatusUnknown) and a pod still Pending or
// Running is Failed.
func (r *podRunner) becomeTerminal(p corev1.PodPhase) {
	r.terminal = true
	for _, t := range r.timers {
		t.Stop()
	}
	for _, c := range r.all() {
		c.stopTimers()
	}
	if r.initialized() {
		for _, c := range r.mains {
			r.unknownIfNotTerminated(c)
		}
	}
	for _, c := range r.startedInits() {
		r.unknownIfNotTerminated(c)
	}
	if p != corev1.PodSucceeded {
		p = corev1.PodFailed
	}
	r.phase = p
	r.trace("pod %s %s", p, r.reason)
}

func (r *podRunner) unknownIfNotTerminated(c *ctr) {
	if c.state == terminated {
		return
	}
	if c.state == backingOff {
		c.last = c.terminatedState(r)
	}
	c.state, c.exit = terminated, 137
	c.reason, c.message = "ContainerStatusUnknown", "The container could not be located when the pod was terminated"
	c.started, c.finished = time.Time{}, time.Time{}
}

// initialized: no init containers, a container ever started, or the last
// init container succeeded (status manager hasPodInitialized).
func (r *podRunner) initialized() bool {
	if len(r.inits) == 0 {
		return true
	}
	for _, c := range r.mains {
		if c.gen > 0 {
			return true
		}
	}
	l := r.inits[len(r.inits)-1]
	return l.state == terminated && l.exit == 0
}

// startedInits are the init containers up to the last that ever started,
// or the first when none did (status manager initializedContainers).
func (r *podRunner) startedInits() []*ctr {
	for i := len(r.inits) - 1; i >= 0; i-- {
		if r.inits[i].gen > 0 {
			return r.inits[:i+1]
		}
	}
	return r.inits[:min(1, len(r.inits))]
}
