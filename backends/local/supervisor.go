package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller"
	"github.com/batchctl/batchctl/jobspec"
)

const (
	// commitInterval groups status changes into one write of state.json.
	commitInterval = 50 * time.Millisecond
	// checkInterval: how often the supervisor looks for requests it was not
	// signalled about (where signals cannot reach it).
	checkInterval = time.Second
	// kubeletRestartCap is the kubelet's longest crash-loop delay.
	kubeletRestartCap = 300 * time.Second
)

// superviseEnv, set on a re-executed batchctl, makes MaybeSupervise run the
// supervisor of one job: "<uid>|<state dir>".
const superviseEnv = "_BATCHCTL_LOCAL_SUPERVISE"

// MaybeSupervise runs the supervisor and exits when this process was started
// as one (by Submit); otherwise it returns at once. main and every TestMain
// of a binary that submits local jobs must call it first.
func MaybeSupervise() {
	if arg, ok := os.LookupEnv(scheduleEnv); ok {
		os.Exit(runScheduler(arg)) // a CronJob's scheduler (cron_scheduler.go)
	}
	arg, ok := os.LookupEnv(superviseEnv)
	if !ok {
		return
	}
	os.Exit(supervise(arg))
}

func supervise(arg string) int {
	// Pods get SIGKILL when the thread that forked them exits (Pdeathsig);
	// keeping the loop on the main thread makes that the process's death.
	goruntime.LockOSThread()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("supervisor[%d] ", os.Getpid()))
	_ = os.Unsetenv(superviseEnv) // pods must not become supervisors
	uid, dir, ok := strings.Cut(arg, "|")
	if !ok || !validName(uid) {
		log.Printf("bad %s value %q", superviseEnv, arg)
		return 2
	}
	// First thing: until Notify, a signal would kill the supervisor.
	s := &supervisor{st: &store{dir: dir}, uid: uid, sigs: make(chan os.Signal, 4)}
	signal.Notify(s.sigs, controlSignals...)
	signal.Ignore(syscall.SIGHUP)
	lock, err := takeHandedLock(s.st.lockPath(s.uid))
	if err != nil {
		log.Print(err)
		return 1
	}
	defer lock.Close()
	becomeSubreaper()
	if err := s.run(); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

// takeHandedLock adopts the lock the starting command handed over as fd 3
// (see startDetached), after checking it is the lock file at path, or
// takes it where locks cannot be handed over.
func takeHandedLock(path string) (*os.File, error) {
	if !handoverLock {
		f, err := openNoFollow(path, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		return f, lockExclusive(f)
	}
	f := os.NewFile(3, path)
	fi, err1 := f.Stat()
	// The lock file may already be gone (someone deleted it): what was
	// handed over is the lock all the same; liveness then rests on the pid.
	want, err2 := os.Lstat(path)
	if err1 != nil || !fi.Mode().IsRegular() || (err2 == nil && !os.SameFile(fi, want)) {
		return nil, fmt.Errorf("descriptor 3 is not the lock %s", path)
	}
	markCloseOnExec(3)
	return f, nil
}

// supervisor drives one job: it feeds the Job controller's state machine
// what its pods do and does what the machine decides. Everything happens on
// the goroutine in run; process waiters post closures to inbox.
type supervisor struct {
	st   *store
	uid  string
	rec  *jobRecord
	m    *jobcontroller.Machine
	rt   runtime
	host host
	sigs chan os.Signal

	baseEnv []string // the environment every container starts from
	inbox   chan func()
	queue   []func() // machine inputs from the loop itself, after the current one
	pods    map[string]*podRun
	// rtEvents are events the runtime reported (image pulls), not yet
	// written; the machine's own are read from it.
	rtEvents []backends.Event

	// What changed since the last write.
	dirty       map[string]bool // pods whose attempts changed
	runs        map[string][][]containerRun
	eventsDone  int
	changed     bool
	gen         uint64
	deleted     bool
	suspended   bool // the suspend request last applied
	lastControl time.Time
}

func (s *supervisor) run() error {
	rec, err := s.st.readRecord(s.uid)
	if err != nil {
		return err
	}
	if s.exists(deletingFile) {
		return nil // deleted before we started
	}
	if st, err := s.st.readState(s.uid); err == nil && st.Status.Phase.Terminal() {
		return nil
	}
	s.rec = rec
	s.inbox = make(chan func(), 256)
	if rec.Plan.Runtime == RuntimeDocker {
		s.rt, err = newDockerRuntime(rec, s.st.logDir(s.uid), func(e backends.Event) {
			s.post(func() { s.rtEvents = append(s.rtEvents, e); s.changed = true })
		})
	} else {
		s.rt, err = newExecRuntime(s.uid)
	}
	if err != nil {
		return err
	}
	s.host = thisHost()
	s.baseEnv = s.rt.baseEnv() // exec: the submitter's, filtered when Submit started us
	s.pods, s.dirty, s.runs = map[string]*podRun{}, map[string]bool{}, map[string][][]containerRun{}

	plan := rec.Plan
	opts := jobcontroller.Options{
		PodBackoff: delay(plan.Backoff.Initial), PodBackoffCap: delay(plan.Backoff.Cap),
		RestartBackoff: delay(plan.Backoff.Initial), RestartBackoffCap: delay(min(plan.Backoff.Cap, Duration(kubeletRestartCap))),
		NamePod: func(index int32) string {
			if index < 0 {
				return rec.Name + "-" + randSuffix()
			}
			return fmt.Sprintf("%s-%d-%s", rec.Name, index, randSuffix())
		},
	}
	if s.m, err = jobcontroller.New(rec.Manifest, opts, time.Now()); err != nil {
		return err
	}
	s.suspended = rec.Manifest.Spec.Suspend != nil && *rec.Manifest.Spec.Suspend
	s.applyControl(time.Now())

	tick := time.NewTicker(commitInterval)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	s.changed = true
	for {
		s.drain()
		if s.finished() {
			break
		}
		timer.Reset(s.untilTimer())
		select {
		case f := <-s.inbox:
			f()
		case <-timer.C:
			s.m.Tick(time.Now())
			s.changed = true
		case sig := <-s.sigs:
			s.onSignal(sig)
		case <-tick.C:
			s.checkControl()
			if s.changed {
				s.commit(false)
			}
		}
	}
	if s.deleted {
		s.rt.cleanup(s.livePods())
		s.rt.close(s.livePods())
		return nil
	}
	return s.finish()
}

// livePods are the pods not removed yet.
func (s *supervisor) livePods() []*podRun {
	out := make([]*podRun, 0, len(s.pods))
	for _, p := range s.pods {
		out = append(out, p)
	}
	return out
}

// delay maps a configured delay to the machine's: 0 means none at all.
func delay(d Duration) time.Duration {
	if d <= 0 {
		return jobcontroller.NoDelay
	}
	return time.Duration(d)
}

func (s *supervisor) untilTimer() time.Duration {
	next, ok := s.m.NextTimer()
	if !ok {
		return time.Hour
	}
	return max(time.Until(next), 0)
}

// finished: the machine is done and no process is left, or the job was
// deleted and its processes are gone.
func (s *supervisor) finished() bool {
	for _, p := range s.pods {
		if len(p.running) > 0 {
			return false
		}
	}
	return s.deleted || s.m.Done()
}

// post runs f on the loop, from another goroutine.
func (s *supervisor) post(f func()) { s.inbox <- f }

// drain does what the machine asks, and feeds it the inputs that doing so
// produced, until it asks for nothing more.
func (s *supervisor) drain() {
	for {
		acts := s.m.TakeActions()
		for _, a := range acts {
			s.do(a)
		}
		if len(s.queue) == 0 {
			if len(acts) == 0 {
				return
			}
			continue
		}
		q := s.queue
		s.queue = nil
		for _, f := range q {
			f()
		}
	}
}

// later feeds the machine after the current action, never inside it.
func (s *supervisor) later(f func()) { s.queue = append(s.queue, f) }

func (s *supervisor) do(a jobcontroller.Action) {
	s.changed = true
	s.dirty[a.PodName()] = true
	if s.deleted {
		return
	}
	switch a := a.(type) {
	case jobcontroller.CreatePod:
		p := &podRun{name: a.Pod, uid: newUID(), index: a.Index, running: map[string]bool{}, procs: map[string]procRef{}}
		s.pods[a.Pod] = p
		if err := s.rt.prepare(p); err != nil {
			log.Printf("pod %s: %v", a.Pod, err)
		}
	case jobcontroller.StartContainer:
		s.startContainer(a)
	case jobcontroller.StopPod:
		p := s.pods[a.Pod]
		if p == nil {
			return
		}
		p.stopping = true
		s.rt.signal(p, false)
		if len(p.running) == 0 {
			at := time.Now()
			s.later(func() { s.m.PodTerminated(p.name, at) })
		}
	case jobcontroller.KillPod:
		if p := s.pods[a.Pod]; p != nil {
			s.rt.signal(p, true)
		}
	case jobcontroller.RemovePod:
		if p := s.pods[a.Pod]; p != nil {
			p.removed = true
			if len(p.running) == 0 {
				s.rt.release(p)
				delete(s.pods, a.Pod)
			}
		}
	}
}

func (s *supervisor) startContainer(a jobcontroller.StartContainer) {
	p := s.pods[a.Pod]
	c := s.container(a.Container, a.Init)
	if p == nil || c == nil {
		log.Printf("machine asked for unknown container %s/%s", a.Pod, a.Container)
		return
	}
	runs := s.runs[p.name]
	if len(runs) == 0 || a.Restart > 0 { // a restart in place is a new run
		runs = append(runs, nil)
	}
	runs[len(runs)-1] = append(runs[len(runs)-1], containerRun{Name: a.Container, Restart: a.Restart})
	s.runs[p.name] = runs
	spec := s.containerSpec(p, c, a.Init, a.Restart)
	path := s.st.logFile(s.uid, logName(p.name, a.Restart, c.Name))
	running, err := s.rt.start(p, spec, path, func(at time.Time) {
		s.post(func() { s.m.ContainerStarted(p.name, c.Name, at) })
	}, func(exit jobcontroller.Exit, at time.Time) {
		s.post(func() { s.exited(p, c.Name, exit, at) })
	})
	now := time.Now()
	if err != nil {
		writeLog(path, fmt.Sprintf("batchctl: container %s: %v\n", c.Name, err))
		s.later(func() { s.m.ContainerExited(p.name, c.Name, jobcontroller.Exit{Code: 128, Reason: "StartError"}, now) })
		return
	}
	p.running[c.Name] = true // or being started in the background
	if running {
		s.later(func() { s.m.ContainerStarted(p.name, c.Name, now) })
	}
}

// exited reports a container's end to the machine, and the pod's end once
// a stopped pod has nothing left.
func (s *supervisor) exited(p *podRun, container string, exit jobcontroller.Exit, at time.Time) {
	delete(p.running, container)
	delete(p.procs, container)
	s.changed, s.dirty[p.name] = true, true
	if s.deleted {
		return
	}
	s.m.ContainerExited(p.name, container, exit, at)
	if len(p.running) == 0 {
		if p.stopping {
			s.m.PodTerminated(p.name, at)
		}
		switch {
		case p.removed:
			s.rt.release(p)
			delete(s.pods, p.name)
		case s.podOver(p):
			// Its cgroups (exec), or sandbox and volumes (docker), go
			// now, not with the job: a long job does not pile them up.
			s.rt.release(p)
		}
	}
}

// podOver: nothing will run in p again. Its last run ended Succeeded, or
// Failed when no restart in place can follow.
func (s *supervisor) podOver(p *podRun) bool {
	atts := s.m.PodAttempts(p.name)
	if len(atts) == 0 {
		return false
	}
	switch atts[len(atts)-1].Phase {
	case backends.Succeeded:
		return true
	case backends.Failed:
		return p.stopping || s.rec.Plan.RestartPolicy != string(jobspec.RestartOnFailure)
	}
	return false
}

func (s *supervisor) container(name string, init bool) *ContainerPlan {
	cs := s.rec.Plan.Containers
	if init {
		cs = s.rec.Plan.InitContainers
	}
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func logName(pod string, restart int32, container string) string {
	return fmt.Sprintf("%s_%d_%s.log", pod, restart, container)
}

// onSignal: SIGTERM is Delete (stop everything, write nothing); SIGUSR1
// (where there are signals) says a request file changed.
func (s *supervisor) onSignal(sig os.Signal) {
	if isControlSignal(sig) {
		s.applyControl(time.Now())
		return
	}
	s.stopDeleted()
}

func (s *supervisor) checkControl() {
	if time.Since(s.lastControl) < checkInterval {
		return
	}
	if s.exists(deletingFile) {
		s.stopDeleted()
		return
	}
	s.applyControl(time.Now())
}

// applyControl applies the suspend request, if it changed.
func (s *supervisor) applyControl(now time.Time) {
	s.lastControl = now
	want := s.exists(suspendFile)
	if want == s.suspended {
		return
	}
	s.suspended = want
	if want {
		s.m.Suspend(now)
	} else {
		s.m.Resume(now)
	}
	s.changed = true
}

func (s *supervisor) exists(name string) bool {
	_, err := os.Lstat(s.st.file(s.uid, name))
	return err == nil
}

// stopDeleted stops every pod after Delete; nothing more is written.
func (s *supervisor) stopDeleted() {
	if s.deleted {
		return
	}
	s.deleted = true
	grace := 30 * time.Second
	if g := s.rec.Manifest.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(max(*g, 0)) * time.Second
	}
	for _, p := range s.pods {
		s.rt.signal(p, false)
	}
	time.AfterFunc(max(grace, 2*time.Second), func() {
		s.post(func() {
			for _, p := range s.pods {
				s.rt.signal(p, true)
			}
		})
	})
}

// commit writes what changed: attempts and events appended, state.json
// replaced (not fsynced: only the final state must survive a crash).
func (s *supervisor) commit(final bool) error {
	s.changed = false
	var lines []byte
	for name := range s.dirty {
		runs := s.runs[name]
		for i, a := range s.m.PodAttempts(name) {
			l := attemptLine{Run: i, Attempt: a}
			if i < len(runs) {
				l.Containers = runs[i]
			}
			b, _ := json.Marshal(l)
			lines = append(append(lines, b...), '\n')
		}
	}
	s.dirty = map[string]bool{}
	var errs []error
	if len(lines) > 0 {
		errs = append(errs, appendFile(s.st.file(s.uid, attemptsFile), lines))
	}
	if evs := s.m.EventsSince(s.eventsDone); len(evs) > 0 || len(s.rtEvents) > 0 {
		// The runtime's first on a tie: what it saw led to the machine's.
		all := append(slices.Clone(s.rtEvents), evs...)
		slices.SortStableFunc(all, func(a, b backends.Event) int { return a.Time.Compare(b.Time) })
		var b []byte
		for _, e := range all {
			j, _ := json.Marshal(e)
			b = append(append(b, j...), '\n')
		}
		if err := appendFile(s.st.file(s.uid, eventsFile), b); err == nil {
			s.eventsDone += len(evs)
			s.rtEvents = nil
		} else {
			errs = append(errs, err)
		}
	}
	s.gen++
	st := &jobState{Generation: s.gen, Status: s.status(final)}
	if !final {
		for _, p := range s.pods {
			if len(p.procs) > 0 || len(p.jails) > 0 {
				st.Pods = append(st.Pods, s.rt.survivors(p))
			}
		}
	}
	errs = append(errs, s.st.writeState(s.uid, st, final))
	if err := errors.Join(errs...); err != nil {
		log.Printf("writing the job's state: %v", err)
		s.changed = true
		return err
	}
	return nil
}

// status is the machine's, as the normalized status; it reads Running until
// the end is written.
func (s *supervisor) status(final bool) backends.Status {
	st := s.m.NormalizedSummary()
	st.Name, st.Namespace, st.Backend, st.UID = s.rec.Name, s.rec.Namespace, "local", s.uid
	st.Labels = s.rec.Labels
	created := s.rec.Created
	st.CreationTime = &created
	if st.Phase.Terminal() && !final {
		st.Phase, st.Reason, st.Message, st.CompletionTime = backends.Running, "", "", nil
	}
	return st
}

// finish makes the logs durable, then writes the outcome: first in place
// into the preallocated outcome file, which needs no free block, then
// state.json. The job is only over once the outcome is on disk; until then
// the supervisor keeps its lock (it is not lost) and keeps trying.
func (s *supervisor) finish() error {
	if !s.rt.drain(2 * time.Second) {
		log.Print("some container output is still open; not waiting for it")
	}
	keep := map[int]bool{}
	killOrphans(keep) // what escaped every process group ends with the job
	// Nothing of the job is left behind once its outcome is written: a
	// supervisor killed after that leaves no one to clean up.
	s.rt.cleanup(s.livePods())
	if err := syncLogs(s.st.logDir(s.uid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Printf("sync logs: %v", err)
	}
	_ = s.commit(true) // attempts and events appended; state.json durable if it can be
	for _, name := range []string{attemptsFile, eventsFile} {
		if f, err := openNoFollow(s.st.file(s.uid, name), os.O_RDONLY, 0); err == nil {
			_ = f.Sync()
			f.Close()
		}
	}
	final := s.status(true)
	o := outcomeOf(&final)
	var expires *time.Time
	if ttl := s.rec.Manifest.Spec.TTLSecondsAfterFinished; ttl != nil && final.CompletionTime != nil {
		at := final.CompletionTime.Add(time.Duration(*ttl) * time.Second)
		expires, o.Expires = &at, &at // readers may see the outcome before state.json
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		err := s.st.writeOutcome(s.uid, o)
		if err == nil {
			break
		}
		if s.exists(deletingFile) {
			return nil
		}
		if _, err := os.Lstat(s.st.jobDir(s.uid)); errors.Is(err, fs.ErrNotExist) {
			return nil // deleted once the final state.json said it was over
		}
		log.Printf("writing the outcome: %v (retrying in %v)", err, wait)
		time.Sleep(wait)
	}
	st := &jobState{Generation: s.gen + 1, Status: final, Expires: expires}
	if expires != nil {
		s.st.addExpiry(s.uid, *expires)
	}
	if err := s.st.writeState(s.uid, st, true); err != nil {
		log.Printf("state.json not replaced (the outcome file has the outcome): %v", err)
	}
	s.rt.close(s.livePods())
	return nil
}
