package local

import "github.com/batchctl/batchctl/backends"

// SupervisorPID returns the pid of ref's supervisor, for tests that kill it.
func SupervisorPID(b backends.Backend, ref backends.Ref) (int, error) {
	lb := b.(*backend)
	rec, _, err := lb.load(lb.ref(ref), "", 0)
	if err != nil || rec == nil {
		return 0, err
	}
	return lb.st.supervisorPID(rec.UID), nil
}

// MarkDeleting runs Delete's first step only: the job is marked and its
// supervisor told to stop, but nothing waits for it or removes the record.
func MarkDeleting(b backends.Backend, ref backends.Ref) (uid string, err error) {
	lb := b.(*backend)
	rec, err := lb.markDeleting(lb.ref(ref))
	if err != nil || rec == nil {
		return "", err
	}
	return rec.UID, nil
}

// WaitSupervisor blocks until job uid's supervisor has exited.
func WaitSupervisor(b backends.Backend, uid string) { <-b.(*backend).st.waitUnlocked(uid) }
