package local

import "github.com/batchctl/batchctl/backends"

// SupervisorPID returns the pid of ref's supervisor, for tests that kill it.
func SupervisorPID(b backends.Backend, ref backends.Ref) (int, error) {
	lb := b.(*backend)
	uid, _, err := lb.load(lb.ref(ref))
	if err != nil || uid == "" {
		return 0, err
	}
	pid, _ := lb.st.supervisorProc(uid)
	return pid, nil
}

// MarkDeleting runs Delete's first step only: the job is marked and its
// supervisor told to stop, but nothing waits for it or removes the job.
func MarkDeleting(b backends.Backend, ref backends.Ref) (uid string, err error) {
	lb := b.(*backend)
	uid, _, err = lb.load(lb.ref(ref))
	if err != nil || uid == "" {
		return "", err
	}
	return uid, lb.requestDelete(uid)
}

// WaitSupervisor blocks until job uid's supervisor has exited.
func WaitSupervisor(b backends.Backend, uid string) { <-b.(*backend).st.waitUnlocked(uid) }

// JobDir is where job uid's files are.
func JobDir(b backends.Backend, uid string) string { return b.(*backend).st.jobDir(uid) }
