package local

import (
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
)

const (
	// commitInterval groups state transitions into one transaction (one
	// fsync) instead of one per pod.
	commitInterval = 50 * time.Millisecond
	// checkInterval: how often an idle supervisor looks for a deletion mark
	// (the path Delete takes where it cannot signal).
	checkInterval = time.Second
	// killGrace: SIGTERM, then SIGKILL after this long.
	killGrace = 5 * time.Second
)

// MaybeSupervise runs the supervisor and exits when this process was started
// as one (by Submit); otherwise it returns at once. main and every TestMain
// of a binary that submits local jobs must call it first.
func MaybeSupervise() {
	arg, ok := os.LookupEnv(superviseEnv)
	if !ok {
		return
	}
	os.Exit(supervise(arg))
}

func supervise(arg string) int {
	// Pods get SIGKILL when the thread that forked them exits (Pdeathsig);
	// keeping the loop on the main thread makes that the process's death.
	runtime.LockOSThread()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("supervisor[%d] ", os.Getpid()))
	_ = os.Unsetenv(superviseEnv) // pods must not become supervisors
	parts := strings.SplitN(arg, "|", 4)
	if len(parts) != 4 {
		log.Printf("bad %s value %q", superviseEnv, arg)
		return 2
	}
	s := &supervisor{st: &store{dir: parts[3]}, uid: parts[0], ns: parts[1], name: parts[2]}
	lock, err := s.takeLock()
	if err != nil {
		log.Print(err)
		return 1
	}
	defer lock.Close()
	if err := s.run(); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

// takeLock adopts the lock Submit handed over as fd 3, after checking it is
// the job's lock file, or takes it where locks cannot be handed over.
func (s *supervisor) takeLock() (*os.File, error) {
	path := s.st.lockPath(s.uid)
	if !handoverLock {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		return f, lockExclusive(f)
	}
	f := os.NewFile(3, path)
	fi, err1 := f.Stat()
	want, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(fi, want) {
		return nil, fmt.Errorf("descriptor 3 is not the lock %s", path)
	}
	markCloseOnExec(3)
	return f, nil
}

// supervisor runs one job. Everything happens on the goroutine in run;
// process waiters and timers post closures to inbox.
type supervisor struct {
	st            *store
	uid, ns, name string
	plan          *Plan
	logDir        string

	inbox chan func()
	queue []func() // work posted from the loop itself

	state   jobState
	pods    map[*pod]bool // active pods
	procs   map[*proc]bool
	podSeq  int
	seq     uint32
	copiers sync.WaitGroup // copyOutput goroutines

	// Kubernetes Job controller bookkeeping.
	succeededIdx []bool          // Indexed
	activeIdx    []bool          // Indexed
	nextAttempt  map[int32]int32 // Indexed: attempt number of the index's next pod
	lowIdx       int             // no index below it still needs a pod
	retries      []int32         // NonIndexed: attempt numbers of pods to replace
	failures     int32           // failed pods + in-place restarts, against backoffLimit
	sinceSuccess int             // consecutive failures, for the backoff delay
	gateUntil    time.Time       // no new pod before (Never backoff)
	gateTimer    *time.Timer
	deadline     *time.Timer
	envs         map[*ContainerPlan]*containerEnv

	ending  bool // outcome decided (or deleted); waiting for processes
	deleted bool
	final   jobState // phase, reason, message once ending
	devnull *os.File

	// Group commit.
	dirty      map[uint32]*attemptRecord
	stateDirty bool
	committing bool
	lastCheck  time.Time
}

func (s *supervisor) run() error {
	var rec *jobRecord
	err := s.st.view(func(tx *bolt.Tx) error {
		var err error
		rec, err = getJob(tx, s.ns, s.name)
		return err
	})
	if err != nil {
		return err
	}
	if rec == nil || rec.UID != s.uid || rec.Deleting || rec.State.Phase.Terminal() {
		return nil // deleted or settled before we started
	}
	s.plan, s.state = rec.Plan, rec.State
	s.logDir = s.st.logDir(s.uid)
	s.inbox = make(chan func(), 64)
	s.pods, s.procs = map[*pod]bool{}, map[*proc]bool{}
	s.dirty = map[uint32]*attemptRecord{}
	s.envs = map[*ContainerPlan]*containerEnv{}
	if s.plan.CompletionMode == "Indexed" {
		s.succeededIdx = make([]bool, s.plan.Completions)
		s.activeIdx = make([]bool, s.plan.Completions)
		s.nextAttempt = map[int32]int32{}
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	signal.Ignore(syscall.SIGHUP)

	now := time.Now()
	s.state.StartTime = &now
	s.stateDirty = true
	if ads := s.plan.ActiveDeadlineSeconds; ads != nil {
		s.deadline = time.AfterFunc(time.Duration(*ads)*time.Second, func() {
			s.inbox <- func() { s.fail(backends.ReasonDeadlineExceeded, "Job was active longer than specified deadline") }
		})
	}
	if s.devnull, err = os.Open(os.DevNull); err != nil {
		return err
	}
	defer s.devnull.Close()
	if s.plan.Completions <= 0 {
		s.succeed()
	}
	s.schedule()

	tick := time.NewTicker(commitInterval)
	defer tick.Stop()
	for {
		for len(s.queue) > 0 {
			f := s.queue[0]
			s.queue = s.queue[1:]
			f()
		}
		if s.ending && len(s.procs) == 0 && !s.committing {
			break
		}
		select {
		case f := <-s.inbox:
			f()
		case <-sigs:
			s.stopDeleted()
		case <-tick.C:
			s.tick()
		}
	}
	if s.deleted {
		return nil
	}
	return s.finish()
}

// later runs f on the loop after the current event.
func (s *supervisor) later(f func()) { s.queue = append(s.queue, f) }

// post runs f on the loop, from another goroutine.
func (s *supervisor) post(f func()) { s.inbox <- f }

// tick starts a group commit of what changed, or a deletion check.
func (s *supervisor) tick() {
	if s.committing || s.deleted {
		return
	}
	if !s.stateDirty && len(s.dirty) == 0 {
		if time.Since(s.lastCheck) >= checkInterval {
			s.lastCheck = time.Now()
			s.committing = true
			go func() {
				gone := s.isDeleted()
				s.post(func() {
					s.committing = false
					if gone {
						s.stopDeleted()
					}
				})
			}()
		}
		return
	}
	state, atts := s.snapshot(false)
	s.committing = true
	go func() {
		gone, err := s.commit(state, atts, false)
		s.post(func() {
			s.committing = false
			if err != nil {
				log.Printf("commit: %v", err)
				s.stateDirty = true
				for seq, a := range atts {
					if s.dirty[seq] == nil {
						s.dirty[seq] = a
					}
				}
			}
			if gone {
				s.stopDeleted()
			}
		})
	}()
}

// snapshot copies what changed since the last commit.
func (s *supervisor) snapshot(final bool) (jobState, map[uint32]*attemptRecord) {
	st := s.state
	if s.ending && !final {
		st.Phase = backends.Running // the outcome is written once processes are gone
	}
	st.Procs = nil
	for p := range s.procs {
		st.Procs = append(st.Procs, procRef{Pod: p.pod.name, PID: p.p.Pid, Start: p.start})
	}
	atts := make(map[uint32]*attemptRecord, len(s.dirty))
	for seq, a := range s.dirty {
		c := *a
		c.Containers = append([]string(nil), a.Containers...)
		atts[seq] = &c
	}
	s.dirty = map[uint32]*attemptRecord{}
	s.stateDirty = false
	return st, atts
}

// commit writes state and attempts unless the job was deleted (gone).
func (s *supervisor) commit(state jobState, atts map[uint32]*attemptRecord, final bool) (gone bool, err error) {
	err = s.st.update(func(tx *bolt.Tx) error {
		rec, err := getJob(tx, s.ns, s.name)
		if err != nil {
			return err
		}
		if rec == nil || rec.UID != s.uid || rec.Deleting {
			gone = true
			return nil
		}
		state.Generation = rec.State.Generation + 1
		rec.State = state
		if err := putAttempts(tx, s.uid, atts); err != nil {
			return err
		}
		if err := putJob(tx, rec); err != nil {
			return err
		}
		if final {
			return addExpiry(tx, rec)
		}
		return nil
	})
	return gone, err
}

func (s *supervisor) isDeleted() bool {
	gone := false
	_ = s.st.view(func(tx *bolt.Tx) error {
		rec, err := getJob(tx, s.ns, s.name)
		gone = err == nil && (rec == nil || rec.UID != s.uid || rec.Deleting)
		return nil
	})
	return gone
}

// finish makes the logs durable, then writes the outcome, retrying: the job
// is only over once the database says so.
func (s *supervisor) finish() error {
	// Output still in a pipe belongs in the log; a process that escaped its
	// process group may hold the pipe open, so do not wait for ever.
	drained := make(chan struct{})
	go func() { s.copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		log.Print("some container output is still open; not waiting for it")
	}
	if err := syncLogs(s.logDir); err != nil {
		log.Printf("sync logs: %v", err)
	}
	s.state.Phase, s.state.Reason, s.state.Message = s.final.Phase, s.final.Reason, s.final.Message
	now := time.Now()
	s.state.FinishTime = &now
	s.stateDirty = true
	state, atts := s.snapshot(true)
	var err error
	for try, wait := 0, 100*time.Millisecond; try < 8; try, wait = try+1, wait*2 {
		var gone bool
		if gone, err = s.commit(state, atts, true); err == nil || gone {
			return nil
		}
		log.Printf("final commit: %v", err)
		time.Sleep(wait)
	}
	return err
}

// fail decides the job failed: every active pod is stopped and counts as
// failed, as the Job controller counts the pods it deletes.
func (s *supervisor) fail(reason, msg string) {
	if s.ending {
		return
	}
	s.final = jobState{Phase: backends.Failed, Reason: reason, Message: msg}
	now := time.Now()
	for p := range s.pods {
		s.state.Failed++
		s.dropPod(p, reason, now)
	}
	s.end()
}

// succeed decides the job succeeded (no pod is active by then).
func (s *supervisor) succeed() {
	s.final = jobState{Phase: backends.Succeeded}
	s.end()
}

// stopDeleted stops everything after Delete; nothing more is written.
func (s *supervisor) stopDeleted() {
	s.deleted = true
	for p := range s.pods {
		s.dropPod(p, "", time.Now())
	}
	s.end()
}

// end stops timers; the loop exits once every process is gone.
func (s *supervisor) end() {
	s.ending = true
	for _, t := range []*time.Timer{s.gateTimer, s.deadline} {
		if t != nil {
			t.Stop()
		}
	}
	s.stateDirty = true
}

func (s *supervisor) markDirty(a *attemptRecord) {
	s.dirty[a.seq] = a
}
