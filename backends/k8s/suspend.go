package k8s

import (
	"context"
	"fmt"

	"github.com/batchctl/batchctl/backends"
)

// Suspend sets spec.suspend: the Job controller deletes the active pods
// without counting them as failures, as `kubectl patch job --patch
// '{"spec":{"suspend":true}}'` would.
func (b *backend) Suspend(ctx context.Context, ref backends.Ref) error {
	return b.setSuspend(ctx, "suspend", ref, true)
}

// Resume clears spec.suspend; the controller starts pods again and resets
// the job's start time, so activeDeadlineSeconds counts from now.
func (b *backend) Resume(ctx context.Context, ref backends.Ref) error {
	return b.setSuspend(ctx, "resume", ref, false)
}

func (b *backend) setSuspend(ctx context.Context, op string, ref backends.Ref, suspend bool) error {
	job, err := b.get(ctx, op, ref)
	if err != nil {
		return err
	}
	if st := toStatus(job); st.Phase.Terminal() {
		return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: fmt.Sprintf("the job has already %s", st.Phase)}
	}
	ref.Namespace = job.Namespace
	patch := []byte(fmt.Sprintf(`{"spec":{"suspend":%t}}`, suspend))
	return b.call(ctx, op, ref, func(ctx context.Context) error {
		_, err := b.client.patchJob(ctx, ref.Namespace, ref.Name, patch)
		return err
	})
}
