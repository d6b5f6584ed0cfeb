package jobcontroller

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// cstate is a container's state as the kubelet reports it.
type cstate int

const (
	cWaiting    cstate = iota // not started yet (ContainerCreating, PodInitializing, image errors)
	cStarting                 // StartContainer sent, not reported yet: still Waiting to Kubernetes
	cRunning                  //
	cTerminated               // exited; under OnFailure it may wait for a restart (CrashLoopBackOff)
)

// termination is a container's terminated state.
type termination struct {
	code              int32
	reason            string
	started, finished time.Time
}

type container struct {
	name     string
	init     bool
	state    cstate
	cur      termination  // the current run; valid once it ran (state cTerminated)
	last     *termination // lastTerminationState after a restart
	started  time.Time    // start of the current run
	ran      bool         // ever started
	restarts int32        // restartCount

	// The kubelet's crash-loop backoff entry (flowcontrol.Backoff, keyed by
	// pod UID and container: every pod starts afresh).
	boSet      bool
	bo         time.Duration
	boUpdated  time.Time
	restartAt  time.Time // zero: no restart held back
	waitReason string    // CrashLoopBackOff, ErrImagePull, ...
	pullFails  int       // image-style waiting errors in a row
	retryAt    time.Time // zero: no image-style retry pending
}

// reasonOf is the reason an attempt ended by run t of c shows: an init
// container's marked as kubectl marks it in a pod's status (Init:Error,
// Init:ExitCode:N without a reason), as the k8s backend's attempts do.
func (c *container) reasonOf(t termination) string {
	switch {
	case !c.init:
		return t.reason
	case t.reason == "":
		return fmt.Sprintf("Init:ExitCode:%d", t.code)
	}
	return "Init:" + t.reason
}

func (c *container) terminatedWith(code int32) bool {
	return c.state == cTerminated && c.cur.code == code
}

// run is one attempt: the pod's first run, then one per in-place restart.
type run struct {
	start    time.Time
	end      time.Time // zero while running
	phase    corev1.PodPhase
	code     *int32
	reason   string
	finished bool
}

type pod struct {
	name    string
	index   int32 // -1: NonIndexed
	seq     int   // creation order
	created time.Time
	inits   []*container
	ctrs    []*container
	phase   corev1.PodPhase
	reason  string // status.reason: DeadlineExceeded, Evicted
	message string

	// API side.
	deleted     bool // deletionTimestamp set
	deletedAt   time.Time
	finalizer   bool // batch.kubernetes.io/job-tracking: not yet counted
	disruption  *corev1.PodCondition
	failCount   int32 // batch.kubernetes.io/job-index-failure-count
	ignoreCount int32 // batch.kubernetes.io/job-index-ignored-failure-count

	// Kubelet side.
	forceFailed bool // the kubelet decided Failed (deadline, eviction); set when stopped
	stopping    bool
	killAt      time.Time
	killed      bool
	gone        bool // no process can be left
	removed     bool // RemovePod sent
	ready       bool
	readyAt     time.Time // Ready condition's lastTransitionTime

	runs []run
}

func (p *pod) terminal() bool { return p.phase == corev1.PodSucceeded || p.phase == corev1.PodFailed }

// settled: nothing about the pod can change any more, nor can it weigh in
// a decision: it ended, was counted (no tracking finalizer), no process is
// left, and it is either removed or never deleted (the controller deletes
// only active pods, and a terminal pod's status no longer changes). The
// controller's loops skip such pods (Machine.live); the pod failure policy
// saw each failed one in every sync from its failure to its counting.
func (p *pod) settled() bool {
	return p.terminal() && !p.finalizer && p.gone && (p.removed || !p.deleted)
}

// active is controller.IsPodActive.
func (p *pod) active() bool { return !p.terminal() && !p.deleted }

// goneFromAPI: deleted, stopped and no longer held by the tracking
// finalizer, so Kubernetes has removed the object and the controller no
// longer lists it.
func (p *pod) goneFromAPI() bool { return p.deleted && p.terminal() && !p.finalizer }

// terminating is controller.IsPodTerminating.
func (p *pod) terminatingNow() bool { return !p.terminal() && p.deleted }

func (p *pod) container(name string) *container {
	for _, cs := range [][]*container{p.inits, p.ctrs} {
		for _, c := range cs {
			if c.name == name {
				return c
			}
		}
	}
	return nil
}

// initialized: every init container succeeded.
func (p *pod) initialized() bool {
	for _, c := range p.inits {
		if !c.terminatedWith(0) {
			return false
		}
	}
	return true
}

// restartCount is what pastBackoffLimitOnFailure sums: init containers too.
func (p *pod) restartCount() int32 {
	var n int32
	for _, cs := range [][]*container{p.inits, p.ctrs} {
		for _, c := range cs {
			n += c.restarts
		}
	}
	return n
}

// computePhase is kubelet_pods.go getPhase with ContainerRestartRules on (the
// 1.36 default) and no sidecars: a container is restartable when the pod's
// policy is OnFailure and it exited non-zero.
func (p *pod) computePhase(policy corev1.RestartPolicy, podIsTerminal bool) corev1.PodPhase {
	restartable := func(code int32) bool { return policy == corev1.RestartPolicyOnFailure && code != 0 }
	pendingInit, failedInitNotRestartable := 0, 0
	for _, c := range p.inits {
		switch {
		case c.state == cTerminated && c.cur.code != 0:
			if !restartable(c.cur.code) {
				failedInitNotRestartable++
			}
		case c.state == cTerminated:
		default:
			pendingInit++
		}
	}
	running, waiting, stopped, stoppedNotRestartable, succeeded := 0, 0, 0, 0, 0
	for _, c := range p.ctrs {
		switch c.state {
		case cRunning:
			running++
		case cTerminated:
			stopped++
			if !restartable(c.cur.code) {
				stoppedNotRestartable++
			}
			if c.cur.code == 0 {
				succeeded++
			}
		default:
			// A restarting container has a last termination and counts as stopped.
			if c.last != nil {
				stopped++
				if !restartable(c.last.code) {
					stoppedNotRestartable++
				}
			} else {
				waiting++
			}
		}
	}
	switch {
	case failedInitNotRestartable > 0:
		return corev1.PodFailed
	case pendingInit > 0 || waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0 && podIsTerminal:
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case stopped > 0 && stopped != stoppedNotRestartable:
		return corev1.PodRunning
	case stopped > 0 && stopped == succeeded:
		return corev1.PodSucceeded
	case stopped > 0:
		return corev1.PodFailed
	}
	return corev1.PodPending
}

// updateReady keeps the Ready condition: true while every container runs.
func (p *pod) updateReady(now time.Time) {
	ready := !p.terminal() && p.initialized() && len(p.ctrs) > 0
	for _, c := range p.ctrs {
		ready = ready && c.state == cRunning
	}
	if ready != p.ready {
		p.ready, p.readyAt = ready, now
	}
}

// finishedTime is backoff_utils.go getFinishedTime: the latest container
// finish when all finished, else when Ready turned False, else the
// deletion, else creation.
func (p *pod) finishedTime() time.Time {
	var latest time.Time
	all := len(p.ctrs) > 0
	for _, c := range p.ctrs {
		if c.state != cTerminated {
			all = false
			break
		}
		if c.cur.finished.After(latest) {
			latest = c.cur.finished
		}
	}
	switch {
	case all:
		return latest
	case !p.ready:
		return p.readyAt
	case p.deleted:
		return p.deletedAt // deletionTimestamp - grace period
	}
	return p.created
}

// conditions are the pod's conditions in the order the kubelet writes them
// (generateAPIPodStatus), for onPodConditions rules.
func (p *pod) conditions() []corev1.PodCondition {
	b := func(v bool) corev1.ConditionStatus {
		if v {
			return corev1.ConditionTrue
		}
		return corev1.ConditionFalse
	}
	var cs []corev1.PodCondition
	if p.disruption != nil {
		cs = append(cs, *p.disruption)
	}
	return append(cs,
		corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: b(!p.terminal())},
		corev1.PodCondition{Type: corev1.PodInitialized, Status: b(p.initialized())},
		corev1.PodCondition{Type: corev1.PodReady, Status: b(p.ready)},
		corev1.PodCondition{Type: corev1.ContainersReady, Status: b(p.ready)},
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
}

// exitOf is the exit code and reason an attempt shows for the pod's current
// run: a failed init container's, else the last non-zero (or the first)
// terminated container's, as the k8s backend's attempts do.
func (p *pod) exitOf() (*int32, string) {
	for _, c := range p.inits {
		if c.state == cTerminated && c.cur.code != 0 {
			return &c.cur.code, c.reasonOf(c.cur)
		}
	}
	var pick *container
	for _, c := range p.ctrs {
		if c.state == cTerminated && (pick == nil || c.cur.code != 0) {
			pick = c
		}
	}
	if pick == nil {
		return nil, ""
	}
	code := pick.cur.code
	return &code, pick.cur.reason
}
