package local

import (
	"context"
	"os"

	"github.com/batchctl/batchctl/backends"
)

// Delete asks the job's supervisor to stop its pods (the deleting file,
// and a signal where there are signals), waits until it has exited, then
// removes the job: its name first, then its directory. A Delete that is
// interrupted leaves the request behind: the next command to look finishes
// it (see settle), never reports the job lost.
func (b *backend) Delete(ctx context.Context, ref backends.Ref) error {
	ref = b.ref(ref)
	uid, st, err := b.load(ref)
	if err != nil {
		// A job whose files cannot be read can still be deleted: that is
		// what its owner wants of it.
		if uid, lerr := b.st.lookup(ref.Namespace, ref.Name); lerr == nil && uid != "" {
			st = &jobState{}
			if err := b.requestDelete(uid); err == nil && b.st.supervisorAlive(uid, st) {
				<-b.st.waitUnlocked(uid)
			}
			b.st.stopJob(uid, nil)
			b.st.unclaim(ref.Namespace, ref.Name, uid)
			b.st.removeJob(uid)
			return nil
		}
		return err
	}
	if st == nil {
		return notFound("delete", ref)
	}
	if !st.Status.Phase.Terminal() {
		if err := b.requestDelete(uid); err != nil {
			return err
		}
		select {
		case <-b.st.waitUnlocked(uid):
		case <-ctx.Done():
			return &backends.Error{Kind: backends.ErrUnavailable, Op: "delete", Ref: ref,
				Msg: "the job is being deleted but its pods have not stopped yet", Err: ctx.Err()}
		}
		if cur, err := b.st.readState(uid); err == nil {
			b.st.stopJob(uid, cur.Pods) // its supervisor died before stopping them
		}
	}
	b.st.unclaim(ref.Namespace, ref.Name, uid)
	b.st.removeJob(uid)
	return nil
}

// requestDelete marks job uid deleting and tells its supervisor.
func (b *backend) requestDelete(uid string) error {
	f, err := openNoFollow(b.st.file(uid, deletingFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return unavailable(err)
	}
	f.Close()
	if pid, start := b.st.supervisorProc(uid); pid > 0 {
		if now, ok := procStartTime(pid); !procStartTimeKnowable || (ok && now == start) {
			_ = stopSupervisor(pid)
		}
	}
	return nil
}
