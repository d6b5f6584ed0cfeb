package local

import (
	"context"
	"fmt"
	"os"

	"github.com/batchctl/batchctl/backends"
)

// Suspend asks the job's supervisor to suspend it: the state machine stops
// its pods without counting them as failures, as the Job controller does.
func (b *backend) Suspend(ctx context.Context, ref backends.Ref) error {
	return b.setSuspend(ref, "suspend", true)
}

// Resume asks the supervisor to start the job's pods again; the deadline
// counts from now, as in Kubernetes.
func (b *backend) Resume(ctx context.Context, ref backends.Ref) error {
	return b.setSuspend(ref, "resume", false)
}

// setSuspend writes the request (the suspend file's presence) and tells
// the supervisor; it sees the file within a second where it cannot be
// told.
func (b *backend) setSuspend(ref backends.Ref, op string, suspend bool) error {
	ref = b.ref(ref)
	uid, st, err := b.load(ref)
	if err != nil {
		return err
	}
	if st == nil {
		return notFound(op, ref)
	}
	if st.Status.Phase.Terminal() {
		return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: fmt.Sprintf("the job has already %s", st.Status.Phase)}
	}
	path := b.st.file(uid, suspendFile)
	if suspend {
		f, err := openNoFollow(path, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return unavailable(err)
		}
		f.Close()
	} else if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return unavailable(err)
	}
	// Only a supervisor that has written its state handles the signal (one
	// that is still starting would die of it); a starting one reads the
	// request when it starts, and every second.
	if pid, start := b.st.supervisorProc(uid); pid > 0 && st.Generation > 0 {
		if now, ok := procStartTime(pid); ok && now == start {
			_ = notifySupervisor(pid)
		}
	}
	return nil
}
