package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/croncontroller"
)

// scheduleEnv, set on a re-executed batchctl, makes MaybeSupervise run the
// scheduler of one CronJob: "<uid>|<state dir>".
const scheduleEnv = "_BATCHCTL_LOCAL_SCHEDULE"

// A scheduler is to a CronJob what a supervisor is to a Job: a detached
// process (its own session, stdin /dev/null) holding the CronJob's lock for
// its whole life, so that a command that finds the lock free knows it died.
// It runs the CronJob controller's sync (croncontroller) whenever it is due:
// at the next schedule time, when a Job of the CronJob ends (it waits on
// each unfinished Job's supervisor lock: no polling), when told (SIGUSR1:
// suspend, resume, trigger), and after an error, with a backoff. SIGTERM
// (delete) ends it.

// schedulerRetry bounds the delay after a failed sync (the controller's
// work queue backs off from 5 ms to 1000 s; a scheduler on this machine
// retries sooner).
const (
	schedulerRetryFirst = time.Second
	schedulerRetryCap   = 5 * time.Minute
)

func runScheduler(arg string) int {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("scheduler[%d] ", os.Getpid()))
	_ = os.Unsetenv(scheduleEnv) // the Jobs' supervisors must not become schedulers
	uid, dir, ok := strings.Cut(arg, "|")
	if !ok || !validName(uid) {
		log.Printf("bad %s value %q", scheduleEnv, arg)
		return 2
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, controlSignals...)
	signal.Ignore(syscall.SIGHUP)
	base := &store{dir: dir}
	cs := &store{dir: base.dir + string(os.PathSeparator) + "cron"}
	lock, err := takeHandedLock(cs.lockPath(uid))
	if err != nil {
		log.Print(err)
		return 1
	}
	defer lock.Close()
	rec, err := cs.readCronRecord(uid)
	if err != nil {
		log.Print(err)
		return 1
	}
	if rec.WorkDir != "" {
		if err := os.Chdir(rec.WorkDir); err != nil {
			log.Printf("the Jobs' working directory %s: %v", rec.WorkDir, err)
		}
	}
	bb, err := Open(Options{StateDir: dir, Namespace: rec.Namespace, Backoff: time.Duration(rec.Options.Backoff),
		BackoffCap: time.Duration(rec.Options.BackoffCap), Runtime: rec.Options.Runtime, DockerHost: rec.Options.DockerHost,
		AllowHostPath: rec.Options.AllowHostPath}, os.Stderr)
	if err != nil {
		log.Print(err)
		return 1
	}
	s := &scheduler{b: bb.(*backend), cs: cs, uid: uid, rec: rec, sigs: sigs, ended: make(chan string, 16), watched: map[string]bool{}}
	s.run()
	return 0
}

type scheduler struct {
	b    *backend
	cs   *store
	uid  string
	rec  *cronRecord
	sigs chan os.Signal

	ended   chan string     // uids of Jobs whose supervisor exited
	watched map[string]bool // Jobs waited on
	events  []backends.Event
	started bool // state.json written once
}

func (s *scheduler) run() {
	ctrl := &croncontroller.Controller{Jobs: s, Record: s.record}
	retry := schedulerRetryFirst
	check := time.NewTicker(checkInterval)
	defer check.Stop()
	suspended := s.cs.has(s.uid, suspendFile)
	for {
		if s.cs.has(s.uid, deletingFile) {
			return
		}
		next, err := s.sync(ctrl, suspended)
		if err != nil {
			log.Printf("sync: %v (retrying in %v)", err, retry)
			wait := retry
			next, retry = &wait, min(2*retry, schedulerRetryCap)
		} else {
			retry = schedulerRetryFirst
		}
		var timer <-chan time.Time
		var t *time.Timer
		if next != nil {
			t = time.NewTimer(max(*next, 0))
			timer = t.C
		}
		for waiting := true; waiting; {
			select {
			case <-timer:
				waiting = false
			case uid := <-s.ended:
				delete(s.watched, uid)
				waiting = false
			case sig := <-s.sigs:
				if !isControlSignal(sig) {
					return // delete
				}
				suspended = s.cs.has(s.uid, suspendFile)
				waiting = false
			case <-check.C:
				// Where signals cannot reach the scheduler (and in case one
				// was missed): the request files.
				if s.cs.has(s.uid, deletingFile) {
					return
				}
				if now := s.cs.has(s.uid, suspendFile); now != suspended {
					suspended, waiting = now, false
				}
			}
		}
		if t != nil {
			t.Stop()
		}
	}
}

// sync runs the controller once and writes what changed; it returns when
// to sync again (nil: when something happens).
func (s *scheduler) sync(ctrl *croncontroller.Controller, suspended bool) (*time.Duration, error) {
	st, err := s.cs.readCronState(s.uid)
	if err != nil {
		return nil, err
	}
	l := &loadedCron{uid: s.uid, rec: s.rec, state: st}
	cj := l.object(suspended)
	owned, err := s.b.cronJobs(s.rec.Namespace, s.rec.Name)
	if err != nil {
		return nil, err
	}
	jobs := make([]*batchv1.Job, len(owned))
	for i, j := range owned {
		jobs[i] = j.object()
	}
	updated, changed, requeue, syncErr := ctrl.Sync(cj, jobs)
	// Follow every unfinished Job: its end (or deletion) is the next sync.
	after, _ := s.b.cronJobs(s.rec.Namespace, s.rec.Name)
	for _, j := range after {
		if !j.status.Phase.Terminal() && !s.watched[j.uid] {
			s.watched[j.uid] = true
			uid := j.uid
			go func() {
				<-s.b.st.waitUnlocked(uid)
				s.ended <- uid
			}()
		}
	}
	fp := fingerprintRuns(after)
	// The first write (generation 1) also says it handles signals now.
	if changed || fp != st.Jobs || len(s.events) > 0 || st.Lost != nil || !s.started {
		s.started = true
		s.flushEvents()
		st.Status = updated.Status
		st.Jobs, st.Lost = fp, nil
		st.Generation++
		if err := s.cs.writeCronState(s.uid, st); err != nil {
			return nil, err
		}
	}
	return requeue, syncErr
}

// record keeps an event of the controller's; consecutive repeats are one,
// as an event recorder counts them.
func (s *scheduler) record(eventType, reason, message string) {
	e := backends.Event{Time: time.Now(), Type: eventType, Reason: reason, Object: "CronJob/" + s.rec.Name, Message: message}
	s.events = append(s.events, e)
}

func (s *scheduler) flushEvents() {
	if len(s.events) == 0 {
		return
	}
	var b []byte
	for _, e := range s.events {
		j, _ := json.Marshal(e)
		b = append(append(b, j...), '\n')
	}
	if err := appendFile(s.cs.file(s.uid, cronEventsFile), b); err != nil {
		log.Printf("events: %v", err)
	}
	s.events = nil
}

// GetJob, CreateJob and DeleteJob are the controller's JobControl over the
// local backend: Jobs are submitted and deleted as any local Job is.

func (s *scheduler) GetJob(namespace, name string) (*batchv1.Job, error) {
	ref := backends.Ref{Name: name, Namespace: namespace}
	uid, st, err := s.b.load(ref)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, notFound("get", ref)
	}
	rec, err := s.b.st.readRecord(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("get", ref)
	}
	if err != nil {
		return nil, err
	}
	return ownedJob{uid: uid, rec: rec, status: st.Status}.object(), nil
}

func (s *scheduler) CreateJob(namespace string, job *batchv1.Job) (*batchv1.Job, error) {
	job = job.DeepCopy()
	job.Namespace = namespace
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := s.b.submitObject(ctx, job)
	if err != nil {
		return nil, err
	}
	job.UID = types.UID(st.UID)
	if st.CreationTime != nil {
		job.CreationTimestamp = metav1.Time{Time: *st.CreationTime}
	}
	return job, nil
}

func (s *scheduler) DeleteJob(namespace, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return s.b.Delete(ctx, backends.Ref{Name: name, Namespace: namespace})
}
