package nomad

import (
	"context"
	"strings"

	"github.com/hashicorp/nomad/api"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.Manifester = (*backend)(nil)

// Manifest reads the manifest the job was submitted with from its meta,
// where the annotations are kept.
func (b *backend) Manifest(ctx context.Context, ref backends.Ref) (*batchv1.Job, error) {
	ref = b.ref(ref)
	var job *api.Job
	err := b.call(ctx, "manifest", ref, func(c *api.Client) error {
		var err error
		job, _, err = c.Jobs().Info(ref.Name, b.query(ref).WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{}
	for k, v := range job.Meta {
		if a, ok := strings.CutPrefix(k, metaAnnotation); ok {
			annotations[a] = v
		}
	}
	return backends.DecodeSubmitted(annotations)
}
