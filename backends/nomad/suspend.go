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

// refuseSuspend is ErrInvalid with the reason, whatever the job: no
// request is made, as the answer would be the same for any job.
func (b *backend) refuseSuspend(_ context.Context, op string, ref backends.Ref) error {
	return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: b.ref(ref), Msg: cannotSuspend}
}
