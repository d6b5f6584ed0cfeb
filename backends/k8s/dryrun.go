package k8s

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// DryRun creates the Job with dryRun=All, as `kubectl create
// --dry-run=server` does: admission, validation, quota and defaulting all
// run, nothing is stored. The object returned is the server's.
func (b *backend) DryRun(ctx context.Context, job *jobspec.Job) (*backends.DryRun, error) {
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
		created, err = b.client.createJob(ctx, obj, metav1.CreateOptions{FieldManager: "batchctl", DryRun: []string{metav1.DryRunAll}})
		return err
	})
	if err != nil {
		return nil, err
	}
	created.APIVersion, created.Kind = "batch/v1", "Job"
	created.ManagedFields = nil // hidden, as kubectl hides them
	return &backends.DryRun{Status: toStatus(created), Native: created}, nil
}
