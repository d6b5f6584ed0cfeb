package nomad

import (
	"context"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.Suspender = (*backend)(nil)

// Suspend refuses, saying why: Nomad cannot stop a batch job and start it
// again without re-running the allocations that completed (see
// cannotSuspend). Info declares Capabilities.Suspend false.
func (b *backend) Suspend(ctx context.Context, ref backends.Ref) error {
	return b.refuseSuspend(ctx, "suspend", ref)
}

// Resume refuses as Suspend does: no job of this backend is ever suspended.
func (b *backend) Resume(ctx context.Context, ref backends.Ref) error {
	return b.refuseSuspend(ctx, "resume", ref)
}

// refuseSuspend is ErrNotFound for a job that does not exist, else
// ErrInvalid with the reason.
func (b *backend) refuseSuspend(ctx context.Context, op string, ref backends.Ref) error {
	ref = b.ref(ref)
	if _, err := b.load(ctx, op, ref, 0, 0); err != nil {
		return err
	}
	return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: cannotSuspend}
}
