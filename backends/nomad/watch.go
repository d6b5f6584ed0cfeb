package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// blockingWait bounds one blocking query: two thirds of
// remote.StallTimeout (20 s), so that with the up to 1/16 Nomad adds to
// spread wake-ups the answer comes well within the stall timeout. A query
// with no answer by then went over a silent connection: it is abandoned and
// sent again on a new one. The server answers sooner on a change.
func blockingWait() time.Duration { return remote.StallTimeout * 2 / 3 }

// Watch long-polls the job's allocations (Nomad blocking queries: the
// request returns when they change) and calls fn whenever the normalized
// status differs from the last one it saw. Connection failures, a silent
// connection (no answer within remote.StallTimeout) and a leaderless server
// (an agent restarting) are retried with backoff (0.1 s doubling to 2 s)
// until ctx ends; every retry reads the allocations afresh, so an outcome
// reached meanwhile is seen. A refused token or a certificate problem ends
// the watch; the job being purged, or replaced by a new job of the same ID,
// is ErrNotFound.
func (b *backend) Watch(ctx context.Context, ref backends.Ref, fn func(*backends.Status) bool) error {
	ref = b.ref(ref)
	s, err := b.load(ctx, "watch", ref, 0, 0)
	if err != nil {
		return err
	}
	return b.follow(ctx, ref, s, "watch", func(s *snapshot, st *backends.Status) bool { return fn(st) })
}

// follow calls fn with the status of s, then with every changed status,
// until fn returns true. Logs uses it too, seeing the snapshot as well.
func (b *backend) follow(ctx context.Context, ref backends.Ref, s *snapshot, op string, fn func(*snapshot, *backends.Status) bool) error {
	uid := deref(s.job.CreateIndex)
	st := b.judged(ctx, ref, s, op)
	if fn(s, st) {
		return nil
	}
	last, _ := json.Marshal(st)
	index := s.index
	pause := 100 * time.Millisecond
	for {
		wait := blockingWait()
		if d, ok := untilDeadline(st, s); ok {
			wait = min(wait, max(d, time.Millisecond))
		}
		guard := remote.NewGuard(ctx, remote.StallTimeout)
		next, err := b.load(guard.Context(), op, ref, max(index, 1), wait)
		stalled := guard.Stalled()
		guard.Stop()
		switch {
		case err == nil:
			pause = 100 * time.Millisecond
		case (stalled || retryable(err)) && ctx.Err() == nil:
			// The agent is down or electing a leader: keep trying; the
			// outcome is kept by Nomad and will be read when it is back.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
			continue
		default:
			return err
		}
		if deref(next.job.CreateIndex) != uid {
			return notFound(op, ref)
		}
		if next.index < index {
			next.index = 0 // the server's index went back (a restarted -dev agent): start over
		}
		s, index = next, next.index
		st = b.judged(ctx, ref, s, op)
		cur, _ := json.Marshal(st)
		if string(cur) == string(last) {
			continue
		}
		last = cur
		if fn(s, st) {
			return nil
		}
	}
}

// retryable: a backend error other than a refused token or a transport
// failure no retry cures (a certificate), for the loops that outlast an
// agent restart.
func retryable(err error) bool {
	code, _ := response(err)
	return errors.Is(err, backends.ErrUnavailable) && code != http.StatusForbidden && code != http.StatusUnauthorized &&
		!remote.Permanent(err)
}

// untilDeadline is how long until an active job's deadline passes: the
// status changes then without any change in Nomad.
func untilDeadline(st *backends.Status, s *snapshot) (time.Duration, bool) {
	d, ok := metaInt(s.job.Meta, metaDeadline)
	if !ok || st.Phase.Terminal() || st.StartTime == nil {
		return 0, false
	}
	return time.Until(st.StartTime.Add(time.Duration(d) * time.Second)), true
}
