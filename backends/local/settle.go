package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// Every command that reads a job settles what time decided without a
// supervisor to write it: a job whose supervisor died unfinished is
// Failed with reason SupervisorLost (its pods stopped, its logs kept), or,
// if Delete had asked it to go, deleted; a finished job past its TTL is
// deleted. A read-only state directory is read all the same: what cannot
// be written is reported, not kept.

// supervisorAlive reports whether job uid's supervisor still runs: it holds
// the job's lock; or, should the lock file have been deleted, the process
// recorded as its supervisor (pid and start time) still runs — a deleted
// lock file never makes a live job look lost, nor a lock held by another
// process a dead one alive. A lock file that is there and free was
// released by its supervisor's exit. When it cannot tell, it says yes.
func (s *store) supervisorAlive(uid string, st *jobState) bool {
	if !handoverLock && st.Generation == 0 && st.Status.CreationTime != nil && time.Since(*st.Status.CreationTime) < 10*time.Second {
		return true // the supervisor may not have taken its lock yet
	}
	f, err := openNoFollow(s.lockPath(uid), os.O_RDONLY, 0)
	if err == nil {
		ok, lerr := tryLock(f, false)
		if ok {
			_ = unlock(f)
		}
		f.Close()
		// A held lock is the supervisor's, unless the process recorded
		// as the supervisor is gone: then someone else holds the file
		// (`flock` on it), and a dead supervisor must not look alive.
		return (lerr != nil || !ok) && !s.recordedGone(uid)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return true
	}
	pid, start := s.supervisorProc(uid)
	if pid <= 0 {
		return false
	}
	now, ok := procStartTime(pid)
	return ok && start != 0 && now == start
}

// recordedGone: the process recorded as job uid's supervisor is known to
// have exited (its pid runs no more, or runs another program: the start
// time differs). Where that cannot be known, false.
func (s *store) recordedGone(uid string) bool {
	pid, start := s.supervisorProc(uid)
	if pid <= 0 || start == 0 || !procStartTimeKnowable {
		return false
	}
	now, ok := procStartTime(pid)
	return !ok || now != start
}

// supervisorProc reads the pid and start time Submit recorded.
func (s *store) supervisorProc(uid string) (pid int, start uint64) {
	b, err := readFile(s.file(uid, pidFile))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) > 0 {
		pid, _ = strconv.Atoi(f[0])
	}
	if len(f) > 1 {
		start, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return pid, start
}

// settle finishes job uid found unfinished (st) with its supervisor gone.
// gone reports that it was deleted (Delete had marked it).
func (s *store) settle(uid string, st *jobState, now time.Time) (gone bool) {
	if st.Status.Phase.Terminal() || s.supervisorAlive(uid, st) {
		return false
	}
	s.stopJob(uid, st.Pods)
	if _, err := os.Lstat(s.file(uid, deletingFile)); err == nil {
		s.unclaim(st.Status.Namespace, st.Status.Name, uid)
		s.removeJob(uid)
		return true
	}
	// Another command may have deleted the job meanwhile (its directory is
	// renamed away first): then it is gone, not lost.
	return errors.Is(s.markLost(uid, st, now), fs.ErrNotExist)
}

// markLost records that uid's supervisor died before the job finished: its
// running attempts failed, its outcome Failed with SupervisorLost. st is
// updated whether or not the state directory can be written; the error is
// the state write's.
func (s *store) markLost(uid string, st *jobState, now time.Time) error {
	var pods []string
	var lines []byte
	for _, l := range s.readAttempts(uid) {
		if a := &l.Attempt; !a.Phase.Terminal() {
			a.Phase, a.Reason, a.FinishTime = backends.Failed, backends.ReasonSupervisorLost, &now
			pods = append(pods, a.Pod)
			b, _ := json.Marshal(l)
			lines = append(append(lines, b...), '\n')
		}
	}
	msg := "the supervisor process"
	if pid, _ := s.supervisorProc(uid); pid > 0 {
		msg += fmt.Sprintf(" (pid %d)", pid)
	}
	msg += " died before the job finished; "
	if len(pods) == 0 {
		msg += "no pod was running"
	} else {
		msg += "stopped pods: " + strings.Join(pods, ", ")
	}
	t := &st.Status
	t.Phase, t.Reason, t.Message = backends.Failed, backends.ReasonSupervisorLost, msg
	t.Failed += t.Active
	t.Active, t.CompletionTime, t.NextRetry = 0, &now, nil
	if t.StartTime == nil {
		t.StartTime = t.CreationTime // its supervisor was started
	}
	st.Pods = nil
	st.Generation++
	if len(lines) > 0 {
		_ = appendFile(s.file(uid, attemptsFile), lines)
	}
	_ = s.writeOutcome(uid, outcomeOf(t))
	return s.writeState(uid, st, true)
}

// readAttempts reads attempts.jsonl: the last line of each pod run wins.
// Unreadable lines (a torn append) are skipped.
func (s *store) readAttempts(uid string) []attemptLine {
	f, err := openNoFollow(s.file(uid, attemptsFile), os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	type key struct {
		pod string
		run int
	}
	pos := map[key]int{}
	var out []attemptLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l attemptLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Attempt.Pod == "" {
			continue
		}
		k := key{l.Attempt.Pod, l.Run}
		if i, ok := pos[k]; ok {
			out[i] = l
			continue
		}
		pos[k] = len(out)
		out = append(out, l)
	}
	return out
}

// readEvents reads events.jsonl.
func (s *store) readEvents(uid string) []backends.Event {
	f, err := openNoFollow(s.file(uid, eventsFile), os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []backends.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e backends.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// addExpiry schedules the deletion of finished job uid at at.
func (s *store) addExpiry(uid string, at time.Time) {
	name := fmt.Sprintf("%020d-%s", at.UnixNano(), uid)
	if f, err := openNoFollow(filepath.Join(s.dir, "expiry", name), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
}

// sweep deletes the finished jobs whose TTL passed by now, but those a
// reader holds (see hold).
func (s *store) sweep(now time.Time) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "expiry"))
	if err != nil {
		return
	}
	for _, e := range ents { // oldest first: the names sort by time
		when, uid, ok := strings.Cut(e.Name(), "-")
		at, err := strconv.ParseInt(when, 10, 64)
		if !ok || err != nil || !validName(uid) {
			continue
		}
		if at > now.UnixNano() {
			break
		}
		if s.expire(uid) {
			_ = os.Remove(filepath.Join(s.dir, "expiry", e.Name()))
		}
	}
}

// expire deletes finished job uid unless someone holds it; done reports
// that nothing is left to do for it.
func (s *store) expire(uid string) (done bool) {
	st, err := s.readState(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !st.Status.Phase.Terminal() {
		return err != nil
	}
	f, err := openNoFollow(s.file(uid, readersFile), os.O_RDONLY, 0)
	if err == nil {
		ok, _ := tryLock(f, true)
		defer f.Close()
		if !ok {
			return false // a reader holds it; a later command deletes it
		}
	}
	s.unclaim(st.Status.Namespace, st.Status.Name, uid)
	s.removeJob(uid)
	return true
}

// hold keeps TTL sweeps, of this process and others, off job uid until
// release is called: a shared lock on the job's readers file, which the
// sweep's exclusive try cannot take (the supervisor's lock is another
// file: a reader never waits for a running job). release may be called
// more than once.
func (s *store) hold(uid string) (release func()) {
	f, err := openNoFollow(s.file(uid, readersFile), os.O_RDONLY, 0)
	if err != nil {
		return func() {}
	}
	if err := lockShared(f); err != nil {
		f.Close()
		return func() {}
	}
	done := false
	return func() {
		if !done {
			done = true
			_ = unlock(f)
			f.Close()
		}
	}
}
