package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hashicorp/nomad/api"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

var _ backends.ListWatcher = (*backend)(nil)

// WatchList follows every job List would report with two Nomad blocking
// queries, whatever the number of jobs: one on the jobs list (a job
// registered, stopped or purged, or its summary changed) and one on the
// allocations list (an allocation placed, started, restarted, ended). Each
// answer is the whole list, and every job's status is recomputed from the
// two lists; only a job's definition, which no list carries (its task
// group), is read on its own: once, and again when the job is registered
// anew (its JobModifyIndex or CreateIndex moved). So following N jobs costs
// N definition reads, then a read of each list per change (each list at
// most twice a second: see listGap), where polling List costs 2N requests
// per poll.
//
// Outages and silent connections are retried as Watch retries them (see
// follow), and every retry reads the lists afresh, so no outcome is missed.
// Like Watch, it stops a Nomad job whose verdict Nomad does not reach by
// itself (see judged): `wait` of many jobs and `list -w` watch, as `wait`
// of one does.
func (b *backend) WatchList(ctx context.Context, opts backends.ListOptions, fn func([]*backends.Status) bool) error {
	ns := b.listNamespace(opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the pollers
	w := &listWatch{b: b, ns: ns, sel: opts.Selector, defs: map[jobKey]*api.Job{}}

	// The first reads are not retried beyond the request budget, so that an
	// unreachable agent or a refused token is a prompt, classified error,
	// as it is for Watch.
	jobs, err := w.queryJobs(ctx, 0, 0)
	if err != nil {
		return err
	}
	allocs, err := w.queryAllocs(ctx, 0, 0)
	if err != nil {
		return err
	}
	w.apply(jobs)
	w.apply(allocs)
	if err := w.readDefs(ctx, true); err != nil {
		return err
	}

	answers := make(chan listAnswer)
	go w.poll(ctx, jobs.index, w.queryJobs, answers)
	go w.poll(ctx, allocs.index, w.queryAllocs, answers)
	var last []byte
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		sts, wake := w.statuses(ctx)
		if cur, _ := json.Marshal(sts); last == nil || string(cur) != string(last) {
			last = cur
			if fn(sts) {
				return nil
			}
		}
		// A deadline passes, or a definition read failed: look again then,
		// with no answer to wait for.
		if w.retry {
			wake = min(wake, w.pause)
		}
		timer.Stop()
		timer.Reset(wake)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case a := <-answers:
			if a.err != nil {
				return a.err
			}
			w.apply(a)
			for more := true; more; { // what else has come: one recomputation for all
				select {
				case a := <-answers:
					if a.err != nil {
						return a.err
					}
					w.apply(a)
				default:
					more = false
				}
			}
		}
		if err := w.readDefs(ctx, false); err != nil {
			return err
		}
	}
}

// listWatch is WatchList's view of the namespace: the two lists as last
// answered, and the definitions read of the jobs it reports.
type listWatch struct {
	b   *backend
	ns  string // a namespace, or "*"
	sel labels.Selector

	stubs  []*api.JobListStub // the jobs List would report, by the jobs list
	allocs map[jobKey][]*api.AllocationListStub
	defs   map[jobKey]*api.Job

	retry bool          // a definition read failed and is to be tried again
	pause time.Duration // before that retry
}

type jobKey struct{ namespace, id string }

// listAnswer is one answer of a list query: jobs or allocations.
type listAnswer struct {
	jobs   []*api.JobListStub
	allocs []*api.AllocationListStub
	isJobs bool
	index  uint64
	err    error
}

// queryJobs reads the jobs list with their meta (a blocking query when
// index > 0).
func (w *listWatch) queryJobs(ctx context.Context, index uint64, wait time.Duration) (listAnswer, error) {
	stubs, last, err := w.b.listStubs(ctx, "watch", w.ns, index, wait)
	return listAnswer{isJobs: true, jobs: stubs, index: last}, err
}

// queryAllocs reads the allocations list with their task states, which the
// status is judged from (a blocking query when index > 0).
func (w *listWatch) queryAllocs(ctx context.Context, index uint64, wait time.Duration) (listAnswer, error) {
	var a listAnswer
	err := w.b.call(ctx, "watch", backends.Ref{Namespace: w.ns}, func(c *api.Client) error {
		q := (&api.QueryOptions{Namespace: w.ns, Region: w.b.cfg.Region, WaitIndex: index, WaitTime: wait,
			Params: map[string]string{"task_states": "true"}}).WithContext(ctx)
		allocs, qm, err := c.Allocations().List(q)
		if err == nil {
			a.allocs, a.index = allocs, qm.LastIndex
		}
		return err
	})
	return a, err
}

// listGap is the least time between two queries of one list. Any change
// of any job or allocation in the namespace answers a list query, so on a
// busy cluster the lists would be read back to back: at most every half
// second, each answer takes in every change since the last, whatever their
// number, at the price of reporting a change up to half a second later.
const listGap = 500 * time.Millisecond

// poll repeats a blocking query from index on and sends every answer, also
// one that only timed out (time alone can change a verdict), until ctx
// ends. Outages, a leaderless agent and silent connections are retried with
// backoff (0.1 s doubling to 2 s) as follow retries them; any other error
// is sent and ends it.
func (w *listWatch) poll(ctx context.Context, index uint64, query func(context.Context, uint64, time.Duration) (listAnswer, error), out chan<- listAnswer) {
	pause := 100 * time.Millisecond
	var sent time.Time
	for {
		if gap := listGap - time.Since(sent); gap > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(gap):
			}
		}
		sent = time.Now()
		guard := remote.NewGuard(ctx, remote.StallTimeout)
		a, err := query(guard.Context(), max(index, 1), blockingWait())
		stalled := guard.Stalled()
		guard.Stop()
		switch {
		case err == nil:
			pause = 100 * time.Millisecond
			if a.index < index {
				a.index = 0 // the server's index went back (a restarted -dev agent): start over
			}
			index = a.index
		case (stalled || retryable(err)) && ctx.Err() == nil:
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
			continue
		default:
			a.err = err
		}
		select {
		case out <- a:
		case <-ctx.Done():
			return
		}
		if a.err != nil {
			return
		}
	}
}

// apply takes in a list's answer.
func (w *listWatch) apply(a listAnswer) {
	if a.isJobs {
		w.stubs = w.stubs[:0]
		for _, j := range a.jobs {
			if listed(j, w.sel) {
				w.stubs = append(w.stubs, j)
			}
		}
		return
	}
	w.allocs = map[jobKey][]*api.AllocationListStub{}
	for _, al := range a.allocs {
		k := jobKey{al.Namespace, al.JobID}
		w.allocs[k] = append(w.allocs[k], al)
	}
}

// readDefs reads the definition of every listed job not read yet, or
// registered anew since (four at a time, as List reads). A job gone
// meanwhile is left out until the jobs list says so too. After the first
// reads, a job that cannot be read now keeps its earlier definition, if it
// is the same incarnation, and is tried again after a pause; on the first,
// that is an error, as it is for List: a job left out of the first report
// would look deleted to `wait`.
func (w *listWatch) readDefs(ctx context.Context, first bool) error {
	var stale []*api.JobListStub
	for _, j := range w.stubs {
		d := w.defs[jobKey{j.Namespace, j.ID}]
		if d == nil || deref(d.CreateIndex) != j.CreateIndex || deref(d.JobModifyIndex) != j.JobModifyIndex {
			stale = append(stale, j)
		}
	}
	if len(stale) == 0 {
		w.retry = false
		return nil
	}
	got := make([]*api.Job, len(stale))
	errs := make([]error, len(stale))
	var g errgroup.Group
	g.SetLimit(4)
	for i, j := range stale {
		g.Go(func() error {
			ref := backends.Ref{Name: j.ID, Namespace: j.Namespace}
			errs[i] = w.b.call(ctx, "watch", ref, func(c *api.Client) error {
				var err error
				got[i], _, err = c.Jobs().Info(j.ID, w.b.query(ref).WithContext(ctx))
				return err
			})
			return nil
		})
	}
	_ = g.Wait()
	failed := false
	for i, j := range stale {
		k := jobKey{j.Namespace, j.ID}
		switch d := got[i]; {
		case errs[i] == nil && (d.Type == nil || *d.Type != api.JobTypeBatch || len(d.TaskGroups) == 0 || d.Periodic != nil):
			delete(w.defs, k) // not a job batchctl runs (as load says)
		case errs[i] == nil:
			w.defs[k] = d
		case errors.Is(errs[i], backends.ErrNotFound):
			delete(w.defs, k)
		case !first && retryable(errs[i]) && ctx.Err() == nil:
			failed = true
			if old := w.defs[k]; old != nil && deref(old.CreateIndex) != j.CreateIndex {
				delete(w.defs, k) // another job of the same ID: not reported until read
			}
		default:
			return errs[i]
		}
	}
	switch {
	case !failed:
		w.retry = false
	case w.retry:
		w.pause = min(2*w.pause, 2*time.Second)
	default:
		w.retry, w.pause = true, 100*time.Millisecond
	}
	return nil
}

// statuses judges every listed job whose definition is read, sorted as List
// sorts, and says when the first active job's deadline passes.
func (w *listWatch) statuses(ctx context.Context) ([]*backends.Status, time.Duration) {
	wake := blockingWait() // answers come at least this often anyway
	out := make([]*backends.Status, 0, len(w.stubs))
	for _, j := range w.stubs {
		k := jobKey{j.Namespace, j.ID}
		d := w.defs[k]
		if d == nil || deref(d.CreateIndex) != j.CreateIndex {
			continue
		}
		// What changes without a new registration, as the jobs list has
		// it now: the status Nomad gives the job (pending, running, dead).
		job := *d
		job.Status, job.Stop = &j.Status, &j.Stop
		s := &snapshot{job: &job, allocs: w.allocs[k]}
		st := w.b.judged(ctx, backends.Ref{Name: j.ID, Namespace: j.Namespace}, s, "watch")
		st.Attempts = nil // as List reports it
		if d, ok := untilDeadline(st, s); ok {
			wake = min(wake, max(d, time.Millisecond))
		}
		out = append(out, st)
	}
	backends.SortStatuses(out)
	return out, wake
}
