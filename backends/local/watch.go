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
	release := b.st.hold(ref)
	defer release()
	rec, atts, err := b.load(ref, "", 0)
	if err != nil {
		return err
	}
	if rec == nil {
		return notFound("watch", ref)
	}
	uid, gen := rec.UID, rec.State.Generation
	if fn(toStatus(rec, atts)) {
		return nil
	}
	var unlocked <-chan struct{}
	if !rec.State.Phase.Terminal() {
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
		// Attempts are decoded only when the generation moved.
		rec, atts, err := b.load(ref, uid, gen)
		if err != nil {
			return err
		}
		if rec == nil || rec.UID != uid {
			return notFound("watch", ref)
		}
		if rec.State.Generation == gen {
			continue
		}
		gen = rec.State.Generation
		if fn(toStatus(rec, atts)) {
			return nil
		}
		if rec.State.Phase.Terminal() {
			release()
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
		f, err := os.Open(s.lockPath(uid))
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

func (b *backend) List(ctx context.Context, opts backends.ListOptions) ([]*backends.Status, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = b.namespace
	}
	recs, err := b.loadAll()
	if err != nil {
		return nil, err
	}
	var out []*backends.Status
	for _, rec := range recs {
		if (opts.AllNamespaces || rec.Namespace == ns) && backends.Matches(opts.Selector, rec.Labels) {
			out = append(out, toStatus(rec, nil))
		}
	}
	return out, nil
}
