package local

import (
	"sync"

	"github.com/batchctl/batchctl/backends"
)

// readers counts, per job, the calls of this process reading it (Logs, and
// Watch until it has reported the job finished). TTL sweeps skip those jobs,
// so a reader never loses the job, or its log files, mid-read; the next
// command to look deletes it.
var readers = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func (s *store) readerKey(ns, name string) string { return s.dir + "\x00" + ns + "\x00" + name }

// hold keeps this process's sweeps off job ref until release is called
// (release may be called more than once).
func (s *store) hold(ref backends.Ref) (release func()) {
	k := s.readerKey(ref.Namespace, ref.Name)
	readers.Lock()
	readers.n[k]++
	readers.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			readers.Lock()
			if readers.n[k]--; readers.n[k] <= 0 {
				delete(readers.n, k)
			}
			readers.Unlock()
		})
	}
}

// held reports whether a reader of this process holds the job stored under
// jobs key k.
func (s *store) held(k []byte) bool {
	ns, name, _ := cutKey(k)
	readers.Lock()
	defer readers.Unlock()
	return readers.n[s.readerKey(ns, name)] > 0
}
