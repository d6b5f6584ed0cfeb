package k8s

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/batchctl/batchctl/backends"
)

var (
	errGone      = errors.New("job deleted")
	errWatchDone = errors.New("watch done") // fn returned true for a status waitExplainer reported
)

// Watch follows one Job through an informer (list, then watch): after a
// dropped connection or a restarted API server it re-lists, so the terminal
// state is never missed even when its event was. A first Get gives an
// unreachable server or unknown job a prompt, classified error.
//
// A connection that goes silent without a reset is dropped by the HTTP/2
// health check within remote.StallTimeout (see client.go) and the informer
// reconnects with client-go's backoff (0.8 s, doubling up to 30 s while the
// server stays unreachable). Transient failures are retried for as long as
// ctx lasts; a permanent one (a certificate, a revoked or forbidden
// identity) ends the watch with its classified error instead of a silent
// retry loop.
//
// While some of the job's active pods do not run, the statuses say why, as
// Status's do: see waitExplainer for how, and at what cost.
func (b *backend) Watch(ctx context.Context, ref backends.Ref, fn func(*backends.Status) bool) error {
	return b.watch(ctx, ref, true, fn)
}

// watch is Watch, whose statuses explain waiting pods only when explain
// (logs -f, which watches the pods anyway, has no use for it).
func (b *backend) watch(ctx context.Context, ref backends.Ref, explain bool, fn func(*backends.Status) bool) error {
	job, err := b.get(ctx, "watch", ref)
	if err != nil {
		return err
	}
	explainer := newWaitExplainer(b, fn)
	explainer.off = !explain
	if explainer.deliver(job) {
		return nil
	}
	ref.Namespace = job.Namespace
	informerCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	explainCtx, stopExplaining := context.WithCancel(informerCtx)
	explaining := make(chan struct{})
	go func() {
		defer close(explaining)
		explainer.run(explainCtx, func() { stop(errWatchDone) })
	}()
	defer func() { stopExplaining(); <-explaining }()
	// fail ends the informer on an error no retry cures; the reflector
	// would retry it forever.
	fail := func(err error) error {
		if err != nil && permanent(err) {
			stop(err)
		}
		return err
	}
	lastRV := job.ResourceVersion
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", job.Name).String()
			list, err := b.client.listJobs(ctx, job.Namespace, o)
			return list, fail(err)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", job.Name).String()
			w, err := b.client.watch(ctx, job.Namespace, "jobs", o)
			return w, fail(err)
		},
	}
	_, err = watchtools.UntilWithSync(informerCtx, lw, &batchv1.Job{}, nil, func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case watch.Deleted:
			return false, errGone
		case watch.Added, watch.Modified:
			j, ok := ev.Object.(*batchv1.Job)
			if !ok || j.UID != job.UID {
				return false, errGone // replaced by a new job of the same name
			}
			if j.ResourceVersion == lastRV {
				return false, nil // the informer's initial list repeats what Get saw
			}
			lastRV = j.ResourceVersion
			return explainer.deliver(j), nil
		}
		return false, nil
	})
	stopExplaining()
	<-explaining // no call of fn after this one returns, nor beside the next
	switch {
	case errors.Is(context.Cause(informerCtx), errWatchDone):
		return nil
	case errors.Is(err, errGone):
		return &backends.Error{Kind: backends.ErrNotFound, Op: "watch", Ref: ref, Msg: fmt.Sprintf("job %s was deleted", ref.Name)}
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil && informerCtx.Err() != nil:
		return b.classify("watch", ref, context.Cause(informerCtx))
	case errors.Is(err, watchtools.ErrWatchClosed):
		return b.watch(ctx, ref, explain, fn)
	case err != nil:
		return b.classify("watch", ref, err)
	}
	return nil
}
