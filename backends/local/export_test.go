package local

import "github.com/batchctl/batchctl/backends"

// SupervisorPID returns the pid of ref's supervisor, for tests that kill it.
func SupervisorPID(b backends.Backend, ref backends.Ref) (int, error) {
	lb := b.(*backend)
	rec, _, err := lb.load(lb.ref(ref), false)
	if err != nil || rec == nil {
		return 0, err
	}
	return lb.st.supervisorPID(rec.UID), nil
}
