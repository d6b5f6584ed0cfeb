package k8s

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.Manifester = (*backend)(nil)

// Manifest reads the manifest the job was submitted with from its
// annotation.
func (b *backend) Manifest(ctx context.Context, ref backends.Ref) (*batchv1.Job, error) {
	job, err := b.get(ctx, "manifest", ref)
	if err != nil {
		return nil, err
	}
	return backends.DecodeSubmitted(job.Annotations)
}
