package k8s

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// DryRun creates the Job with dryRun=All, as `kubectl create
// --dry-run=server` does: admission, validation, quota and defaulting all
// run, nothing is stored. The object returned is the server's.
func (b *backend) DryRun(ctx context.Context, job *jobspec.Job) (*backends.DryRun, error) {
	created, err := b.create(ctx, job, []string{metav1.DryRunAll})
	if err != nil {
		return nil, err
	}
	created.APIVersion, created.Kind = "batch/v1", "Job"
	created.ManagedFields = nil // hidden, as kubectl hides them
	return &backends.DryRun{Status: toStatus(created), Native: created}, nil
}
