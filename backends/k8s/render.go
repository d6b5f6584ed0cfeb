package k8s

import (
	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Render returns the exact object Submit sends: the user's manifest,
// losslessly, with the namespace in force and the managed-by label.
// Kubernetes honours every Job field natively, so the report is empty.
func (b *backend) Render(job *jobspec.Job) (*backends.Rendering, error) {
	return &backends.Rendering{Native: b.object(job)}, nil
}

func (b *backend) object(job *jobspec.Job) *batchv1.Job {
	obj := job.Object.DeepCopy()
	obj.APIVersion, obj.Kind = "batch/v1", "Job"
	obj.Namespace = b.ns(backends.Ref{Namespace: job.Namespace})
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	obj.Labels[backends.ManagedByLabel] = backends.ManagedByValue
	return obj
}
