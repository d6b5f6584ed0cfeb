package k8s

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Submit creates the Job as rendered. The API server resolves generateName.
func (b *backend) Submit(ctx context.Context, job *jobspec.Job) (*backends.Status, error) {
	created, err := b.create(ctx, job, nil)
	if err != nil {
		return nil, err
	}
	return toStatus(created), nil
}

// create posts the Job as rendered, for real or (dryRun) only to be
// checked, and returns the server's object.
func (b *backend) create(ctx context.Context, job *jobspec.Job, dryRun []string) (*batchv1.Job, error) {
	if err := b.connect(); err != nil {
		return nil, err
	}
	obj := b.object(job)
	ref := backends.Ref{Name: obj.Name, Namespace: obj.Namespace}
	if ref.Name == "" {
		ref.Name = obj.GenerateName + "*"
	}
	var created *batchv1.Job
	err := b.call(ctx, "submit", ref, func(ctx context.Context) error {
		var err error
		created, err = b.client.createJob(ctx, obj, metav1.CreateOptions{FieldManager: "batchctl", DryRun: dryRun})
		return err
	})
	return created, err
}

// Delete removes the Job; the garbage collector removes its pods in the
// background, as `kubectl delete job` does.
func (b *backend) Delete(ctx context.Context, ref backends.Ref) error {
	if err := b.connect(); err != nil {
		return err
	}
	ref.Namespace = b.ns(ref)
	policy := metav1.DeletePropagationBackground
	return b.call(ctx, "delete", ref, func(ctx context.Context) error {
		return b.client.deleteJob(ctx, ref.Namespace, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
	})
}

// List selects on the managed-by label plus the user's selector, both
// evaluated by the API server.
func (b *backend) List(ctx context.Context, opts backends.ListOptions) ([]*backends.Status, error) {
	if err := b.connect(); err != nil {
		return nil, err
	}
	ns := b.ns(backends.Ref{Namespace: opts.Namespace})
	if opts.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	sel, err := managedSelector(opts)
	if err != nil {
		return nil, err
	}
	var list *batchv1.JobList
	err = b.call(ctx, "list", backends.Ref{Namespace: ns}, func(ctx context.Context) error {
		var err error
		list, err = b.client.listJobs(ctx, ns, metav1.ListOptions{LabelSelector: sel.String()})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*backends.Status, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, toStatus(&list.Items[i]))
	}
	backends.SortStatuses(out)
	return out, nil
}

// managedSelector is the user's selector and batchctl's managed-by label.
func managedSelector(opts backends.ListOptions) (labels.Selector, error) {
	managed, err := labels.NewRequirement(backends.ManagedByLabel, selection.Equals, []string{backends.ManagedByValue})
	if err != nil {
		return nil, err
	}
	sel := labels.NewSelector()
	if opts.Selector != nil {
		sel = opts.Selector
	}
	return sel.Add(*managed), nil
}
