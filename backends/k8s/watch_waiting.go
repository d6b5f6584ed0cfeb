package k8s

import (
	"context"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// Watch says why pods wait as Status does ("waiting: pod X:
// ImagePullBackOff: …", while status.ready < active). The Job object does
// not change while its pod goes from ContainerCreating to ErrImagePull and
// ImagePullBackOff, so the job's changes alone would never show that: while
// the wait lasts, its pods are read again, at a bounded cost:
//
//   - only while the job's latest state has ready < active;
//   - one list per read, of the unfinished pods, at most waitingSample of
//     them (as Status's second request);
//   - the first read waitGrace after the wait began, so a job whose pods
//     start within it costs the watch alone;
//   - then after a gap that doubles, up to waitGapMax, while the
//     explanation stays the same; a change of the job or of the
//     explanation brings it back to waitGrace, so never more than one read
//     per waitGrace, however often the job changes.
//
// A status is reported again when the explanation changes.
const (
	waitGrace  = time.Second
	waitGapMax = 16 * time.Second
)

// waitExplainer adds the explanation to one Watch's statuses, and reports a
// changed explanation of an unchanged job itself. Every call of fn is made
// under mu, never after one returned true.
type waitExplainer struct {
	b    *backend
	fn   func(*backends.Status) bool
	wake chan struct{} // the schedule changed (buffered: 1)

	mu    sync.Mutex
	done  bool         // fn returned true
	job   *batchv1.Job // the latest job seen
	since time.Time    // when its pods began to wait; zero: they do not
	msg   string       // this wait's explanation, "" until the pods were read
	next  time.Time    // when to read them again
	gap   time.Duration
	off   bool // the pods cannot be read (forbidden): no explanations
}

func newWaitExplainer(b *backend, fn func(*backends.Status) bool) *waitExplainer {
	return &waitExplainer{b: b, fn: fn, wake: make(chan struct{}, 1)}
}

// waits says whether some of job's active pods do not run.
func waits(job *batchv1.Job, st *backends.Status) bool {
	return notRunning(job) > 0 && !st.Phase.Terminal()
}

// deliver reports a job the watch saw, with the explanation of its wait
// so far, and schedules the next read of its pods. It returns fn's verdict.
func (w *waitExplainer) deliver(job *batchv1.Job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return true
	}
	st := toStatus(job)
	w.job = job
	switch {
	case !waits(job, st) || w.off:
		w.since, w.msg = time.Time{}, ""
	case w.since.IsZero():
		now := time.Now()
		w.since, w.msg, w.gap, w.next = now, "", waitGrace, now.Add(waitGrace)
		w.poke()
	default:
		// The job moved: its pods may have too.
		if soon := time.Now().Add(waitGrace); soon.Before(w.next) {
			w.next = soon
			w.poke()
		}
		w.gap = waitGrace
		if w.msg != "" {
			st.Message = w.msg
		}
	}
	w.done = w.fn(st)
	return w.done
}

func (w *waitExplainer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run reads the pods when due, until ctx ends; when fn returns true for a
// status it reported, it calls finished.
func (w *waitExplainer) run(ctx context.Context, finished func()) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		job, next, due := w.job, w.next, !w.since.IsZero() && !w.done && !w.off
		w.mu.Unlock()
		timer.Stop()
		var tick <-chan time.Time
		if due {
			timer.Reset(time.Until(next))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			continue
		case <-tick:
		}
		msg, err := w.read(ctx, job)
		if ctx.Err() != nil {
			return
		}
		if w.explained(msg, err) {
			finished()
			return
		}
	}
}

// read lists the job's unfinished pods, once (a failure waits for the
// next read), and says why they wait.
func (w *waitExplainer) read(ctx context.Context, job *batchv1.Job) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, remote.StallTimeout)
	defer cancel()
	list, err := w.b.client.listPods(ctx, job.Namespace, unfinishedPodsOptions(job))
	if err != nil {
		return "", err
	}
	sortPods(list.Items)
	return explainWaiting(list.Items, nil), nil
}

// explained records a read's outcome, reports a changed explanation, and
// schedules the next read. It returns true once fn did.
func (w *waitExplainer) explained(msg string, err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done || w.since.IsZero() {
		return w.done // the wait ended meanwhile
	}
	switch {
	case err != nil && permanent(err):
		w.off = true // as Status, which would fail; the watch goes on
		return false
	case err != nil || msg == w.msg:
		w.gap = min(2*w.gap, waitGapMax)
		w.next = time.Now().Add(w.gap)
		return false
	}
	w.msg, w.gap, w.next = msg, waitGrace, time.Now().Add(waitGrace)
	st := toStatus(w.job)
	if msg != "" {
		st.Message = msg
	}
	w.done = w.fn(st)
	return w.done
}
