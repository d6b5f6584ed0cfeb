//go:build linux

package scriptkubelet

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
)

// podRunner plays one pod. Everything happens on its loop goroutine:
// informer updates and timers post closures, and after each one the status
// is written if it changed (as the kubelet's status manager batches).
type podRunner struct {
	k        *Kubelet
	uid      types.UID
	ns, name string
	jk       jobKey
	index    *int32
	ikey     string
	spec     corev1.PodSpec
	pod      *corev1.Pod // latest seen

	mu    sync.Mutex // guards queue
	queue []func()
	wake  chan struct{}

	// The rest belongs to the loop goroutine.
	done      bool // the pod is gone
	started   bool
	startTime time.Time
	ip        string
	inits     []*ctr
	mains     []*ctr
	conds     map[corev1.PodConditionType]*corev1.PodCondition
	timers    []*time.Timer // pod-level: deadline, eviction

	terminating bool // stopping its containers: deletion, deadline, eviction
	grace       time.Duration
	terminal    bool // phase Succeeded or Failed
	phase       corev1.PodPhase
	reason, msg string
	disruption  bool // evicted: DisruptionTarget goes out with the terminal phase
	deleteSent  bool
	written     *corev1.PodStatus
}

type ctrState int

const (
	created    ctrState = iota // never started in this pod
	running                    // running
	terminated                 // exited
	backingOff                 // exited, waiting for its in-place restart
)

// ctr is one container of the pod and its runs.
type ctr struct {
	spec     corev1.Container
	init     bool
	state    ctrState
	eff      scenario.Effect
	gen      int // run number in this pod, so stale timers are ignored
	started  time.Time
	finished time.Time
	exit     int32
	reason   string
	message  string
	restarts int32
	last     *corev1.ContainerStateTerminated
	waitMsg  string
	timers   []*time.Timer
	// crash-loop backoff entry: the delay and when it was last advanced
	backoff   time.Duration
	backoffAt time.Time
}

func newPodRunner(k *Kubelet, p *corev1.Pod) *podRunner {
	job, index := podJob(p)
	r := &podRunner{
		k: k, uid: p.UID, ns: p.Namespace, name: p.Name,
		jk: jobKey{p.Namespace, job}, index: index, ikey: scenario.IndexKey(index),
		spec: *p.Spec.DeepCopy(), wake: make(chan struct{}, 1),
		conds: map[corev1.PodConditionType]*corev1.PodCondition{},
	}
	for _, c := range r.spec.InitContainers {
		r.inits = append(r.inits, &ctr{spec: c, init: true})
	}
	for _, c := range r.spec.Containers {
		r.mains = append(r.mains, &ctr{spec: c})
	}
	return r
}

// post runs f on the pod's loop; it never blocks.
func (r *podRunner) post(f func()) {
	r.mu.Lock()
	r.queue = append(r.queue, f)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *podRunner) after(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() { r.post(f) })
}

func (r *podRunner) loop() {
	for {
		select {
		case <-r.k.ctx.Done():
			r.stopTimers()
			return
		case <-r.wake:
		}
		r.mu.Lock()
		q := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, f := range q {
			if !r.done {
				f()
			}
		}
		if r.done {
			r.stopTimers()
			return
		}
		r.flush()
	}
}

func (r *podRunner) trace(format string, args ...any) {
	if t := r.k.opts.Trace; t != nil {
		t(r.ns, fmt.Sprintf("%s %s: ", time.Now().Format("15:04:05.000"), r.name)+fmt.Sprintf(format, args...))
	}
}

func (r *podRunner) gone() { r.done = true }

func (r *podRunner) stopTimers() {
	for _, t := range r.timers {
		t.Stop()
	}
	for _, c := range r.all() {
		c.stopTimers()
	}
}

func (c *ctr) stopTimers() {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

func (r *podRunner) all() []*ctr { return append(append([]*ctr{}, r.inits...), r.mains...) }

// update takes the latest pod object: the first one starts the pod, a
// deletion timestamp stops it.
func (r *podRunner) update(p *corev1.Pod) {
	r.pod = p
	if !r.started {
		r.started = true
		r.startTime = time.Now()
		r.ip = r.k.nextIP()
		r.k.countStart(r.jk, r.ikey)
		r.trace("pod created (index %s)", r.ikey)
		if p.DeletionTimestamp == nil {
			if ads := r.spec.ActiveDeadlineSeconds; ads != nil {
				r.timers = append(r.timers, r.after(time.Duration(*ads)*time.Second, r.deadline))
			}
			r.advance()
		}
	}
	if p.DeletionTimestamp != nil {
		grace := defaultGracePeriod
		if p.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
		}
		r.terminate(grace, "deleted")
	}
}

// advance starts the next init container, or every container once the init
// containers have succeeded.
func (r *podRunner) advance() {
	if r.terminating || r.terminal {
		return
	}
	for _, c := range r.inits {
		switch {
		case c.state == terminated && c.exit == 0:
			continue
		case c.state == created:
			r.start(c)
		}
		return // running, backing off, or failed for good
	}
	for _, c := range r.mains {
		if c.state == created {
			r.start(c)
		}
	}
}

// start runs c, for the first time in this pod or again in place.
func (r *podRunner) start(c *ctr) {
	if c.gen > 0 {
		c.restarts++
		c.last = c.terminatedState(r)
		r.k.countStart(r.jk, r.ikey)
	}
	n := r.k.nextContainerStart(r.jk, r.ikey, c.spec.Name)
	c.eff = r.k.opts.Behaviour(r.ns, r.jk.job, r.index, n, c.spec.Name)
	c.gen++
	c.state, c.started, c.waitMsg = running, time.Now(), ""
	r.trace("container %s start %d (restart %d): %v", c.spec.Name, n, c.restarts, c.eff)
	gen := c.gen
	switch {
	case c.eff.Hang:
	case c.eff.Evict:
		r.timers = append(r.timers, r.after(c.eff.After, func() {
			if c.gen == gen && c.state == running {
				r.evict()
			}
		}))
	default:
		code := c.eff.Exit
		c.timers = append(c.timers, r.after(c.eff.After, func() {
			if c.gen == gen {
				r.exited(c, code)
			}
		}))
	}
}

// exited records that c's process ended with code.
func (r *podRunner) exited(c *ctr, code int32) {
	if c.state != running {
		return
	}
	c.stopTimers()
	c.state, c.exit, c.finished = terminated, code, time.Now()
	c.reason, c.message = "Error", ""
	if code == 0 {
		c.reason = "Completed"
	}
	r.trace("container %s exited %d", c.spec.Name, code)
	if r.terminating {
		r.finishTermination()
		return
	}
	if code == 0 && c.init {
		r.advance()
	}
	if code != 0 && r.spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		r.backOff(c)
	}
	if p := r.computePhase(false); p == corev1.PodSucceeded || p == corev1.PodFailed {
		r.becomeTerminal(p)
	}
}

// backOff restarts c in place as the kubelet does (kuberuntime doBackOff
// with flowcontrol.Backoff): at once when it has no backoff entry, else
// once the entry's delay has passed since it finished; each restart then
// starts the entry at 10 s or doubles it, up to 300 s.
func (r *podRunner) backOff(c *ctr) {
	var wait time.Duration
	if c.backoff > 0 && c.finished.Sub(c.backoffAt) <= crashLoopBackOffReset {
		wait = c.backoff - time.Since(c.finished)
	}
	gen := c.gen
	restart := func() {
		if c.gen != gen || c.state == running || r.terminating || r.terminal {
			return
		}
		if c.backoff == 0 || c.finished.Sub(c.backoffAt) > crashLoopBackOffReset {
			c.backoff = initialCrashLoopBackOff
		} else {
			c.backoff = min(2*c.backoff, maxCrashLoopBackOff)
		}
		c.backoffAt = time.Now()
		r.start(c)
	}
	if wait <= 0 {
		restart()
		return
	}
	c.state = backingOff
	c.waitMsg = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", c.backoff, c.spec.Name, r.name, r.ns, r.uid)
	c.timers = append(c.timers, r.after(wait, restart))
}

// flush writes the status when it changed, then, for a deleted pod that
// has finished, makes the final delete.
func (r *podRunner) flush() {
	st := r.status()
	if r.written == nil || !statusEqual(r.written, st) {
		if err := r.k.patchStatus(r, st); err != nil {
			if r.k.ctx.Err() == nil {
				r.k.opts.Logf("scriptkubelet: pod %s/%s status: %v", r.ns, r.name, err)
			}
			return
		}
		r.written = st
	}
	r.deleteIfDone()
}

func (r *podRunner) deleteIfDone() {
	if r.terminal && !r.deleteSent && r.written != nil && r.written.Phase == r.phase && r.pod != nil && r.pod.DeletionTimestamp != nil {
		r.deleteSent = true
		ctx, cancel := context.WithTimeout(r.k.ctx, 30*time.Second)
		defer cancel()
		if err := r.k.deletePod(ctx, r); err != nil {
			r.k.opts.Logf("scriptkubelet: pod %s/%s final delete: %v", r.ns, r.name, err)
		}
	}
}
