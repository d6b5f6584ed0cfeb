package k8s

import (
	"context"
	"errors"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.ListWatcher = (*backend)(nil)

// WatchList follows every job List would report through one informer (one
// list, then one watch, re-listing after a dropped connection), whatever
// the number of jobs.
func (b *backend) WatchList(ctx context.Context, opts backends.ListOptions, fn func([]*backends.Status) bool) error {
	if err := b.connect(); err != nil {
		return err
	}
	ns := b.ns(backends.Ref{Namespace: opts.Namespace})
	if opts.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	sel, err := managedSelector(opts)
	if err != nil {
		return err
	}
	// A first List gives an unreachable server a prompt, classified error.
	first, err := b.List(ctx, opts)
	if err != nil {
		return err
	}
	if fn(first) {
		return nil
	}
	jobs := map[types.UID]*batchv1.Job{}
	snapshot := func() []*backends.Status {
		out := make([]*backends.Status, 0, len(jobs))
		for _, j := range jobs {
			out = append(out, toStatus(j))
		}
		backends.SortStatuses(out)
		return out
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel.String()
			return b.client.listJobs(ctx, ns, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel.String()
			return b.client.watch(ctx, ns, "jobs", o)
		},
	}
	synced := false
	_, err = watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, func(store cache.Store) (bool, error) {
		for _, o := range store.List() {
			if j, ok := o.(*batchv1.Job); ok {
				jobs[j.UID] = j
			}
		}
		synced = true
		// What changed between the first List and the informer's own.
		return fn(snapshot()), nil
	}, func(ev watch.Event) (bool, error) {
		j, ok := ev.Object.(*batchv1.Job)
		if !ok {
			return false, nil
		}
		switch ev.Type {
		case watch.Deleted:
			delete(jobs, j.UID)
		case watch.Added, watch.Modified:
			if old := jobs[j.UID]; old != nil && old.ResourceVersion == j.ResourceVersion {
				return false, nil // the informer's list repeats what we have
			}
			jobs[j.UID] = j
		default:
			return false, nil
		}
		return synced && fn(snapshot()), nil
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, watchtools.ErrWatchClosed):
		return b.WatchList(ctx, opts, fn)
	}
	return err
}
