package local

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.Manifester = (*backend)(nil)

// Manifest is the manifest the job was submitted with, as the CLI stamped
// it (the record's copy also carries the namespace the backend chose).
func (b *backend) Manifest(ctx context.Context, ref backends.Ref) (*batchv1.Job, error) {
	ref = b.ref(ref)
	uid, st, err := b.load(ref)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, notFound("manifest", ref)
	}
	rec, err := b.st.readRecord(uid)
	if err != nil {
		return nil, err
	}
	return backends.DecodeSubmitted(rec.Manifest.Annotations)
}
