package local

import (
	"context"
	"os"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// pollInterval paces Watch and Logs -f between supervisor writes; the
// terminal state does not wait for it (see waitUnlocked).
const pollInterval = 100 * time.Millisecond

func (b *backend) Watch(ctx context.Context, ref backends.Ref, fn func(*backends.Status) bool) error {
	ref = b.ref(ref)
	// Held until the finished job was reported; past its TTL it then goes.
	uid, st, release, err := b.loadHeld(ref)
	if err != nil {
		return err
	}
	defer release()
	if st == nil {
		return notFound("watch", ref)
	}
	gen, phase := st.Generation, st.Status.Phase
	if fn(&st.Status) {
		return nil
	}
	var unlocked <-chan struct{}
	if !st.Status.Phase.Terminal() {
		unlocked = b.st.waitUnlocked(uid)
	} else {
		release()
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-unlocked:
			unlocked = nil
		}
		st, err := b.loadUID(uid)
		if err != nil {
			return err
		}
		if st == nil {
			return notFound("watch", ref)
		}
		// The generation moves with every write; the phase also moves when
		// the final outcome came from the outcome file.
		if st.Generation == gen && st.Status.Phase == phase {
			continue
		}
		if st.Status.Phase.Terminal() && unlocked != nil {
			// The outcome is written before the supervisor's last files:
			// report the end once it is done with them (it is at once,
			// unless its writes fail, which it does not wait for long).
			if err := b.st.awaitExit(ctx, uid, st, unlocked); err != nil {
				return err
			}
			unlocked = nil
			if again, err := b.loadUID(uid); err == nil && again != nil {
				st = again
			}
		}
		gen, phase = st.Generation, st.Status.Phase
		if fn(&st.Status) {
			return nil
		}
		if st.Status.Phase.Terminal() {
			release()
		}
	}
}

// awaitExit waits, 5 s at most, until job uid's supervisor is done: its
// lock is free (unlocked closed), or, should another process hold the lock
// file, the recorded supervisor process is gone.
func (s *store) awaitExit(ctx context.Context, uid string, st *jobState, unlocked <-chan struct{}) error {
	limit := time.NewTimer(5 * time.Second)
	defer limit.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-unlocked:
			return nil
		case <-limit.C:
			return nil
		case <-tick.C:
			if !s.supervisorAlive(uid, st) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitUnlocked returns a channel closed when job uid's supervisor lock is
// free, i.e. the instant the supervisor exits. The blocked flock cannot be
// interrupted, so if the caller gives up first the goroutine lingers until
// the supervisor exits.
func (s *store) waitUnlocked(uid string) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		f, err := openNoFollow(s.lockPath(uid), os.O_RDONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		if lockShared(f) == nil {
			_ = unlock(f)
		}
	}()
	return ch
}
