package local

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
)

// Every command that reads a job first settles what time decided without a
// supervisor to write it: TTLs that passed delete their jobs (but those this
// process is reading, see hold), and an unfinished job whose supervisor lock
// is free was abandoned: Failed with SupervisorLost, or deleted when Delete
// had marked it (its supervisor exits without writing).

// supervisorAlive reports whether someone holds job uid's supervisor lock.
// When it cannot tell it says yes: a live job must never be declared lost.
func (s *store) supervisorAlive(rec *jobRecord) bool {
	if !handoverLock && rec.State.Generation == 0 && time.Since(rec.Created) < 10*time.Second {
		return true // the supervisor may not have taken its lock yet
	}
	f, err := os.Open(s.lockPath(rec.UID))
	if err != nil {
		return !os.IsNotExist(err)
	}
	defer f.Close()
	ok, err := tryLock(f, false)
	if err != nil {
		return true
	}
	if ok {
		_ = unlock(f)
	}
	return !ok
}

// supervisorPID reads the pid Submit wrote into the lock file, 0 if none.
func (s *store) supervisorPID(uid string) int {
	b, err := os.ReadFile(s.lockPath(uid))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// read runs fn in a read transaction. When time decided something (a TTL
// passed, or one of the records fn returns lost its supervisor), it settles
// that in a write transaction and runs fn again there.
func (b *backend) read(fn func(tx *bolt.Tx) ([]*jobRecord, error)) error {
	now := time.Now()
	var recs []*jobRecord
	expired := false
	err := b.st.view(func(tx *bolt.Tx) error {
		expired = len(b.st.due(tx, now, true)) > 0
		var err error
		recs, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	var stale []*jobRecord
	for _, rec := range recs {
		if !rec.State.Phase.Terminal() && !b.st.supervisorAlive(rec) {
			stale = append(stale, rec)
		}
	}
	if !expired && len(stale) == 0 {
		return nil
	}
	var gone []*jobRecord
	err = b.st.update(func(tx *bolt.Tx) error {
		var err error
		if gone, err = b.st.sweep(tx, now); err != nil {
			return err
		}
		deleted, err := b.st.settle(tx, stale, now)
		if err != nil {
			return err
		}
		gone = append(gone, deleted...)
		_, err = fn(tx)
		return err
	})
	if err != nil {
		return err // rolled back: the files stay with their records
	}
	for _, g := range gone {
		b.st.removeFiles(g.UID)
	}
	return nil
}

// load reads one job; its attempts are decoded unless the job is still uid
// at generation gen (a poller's last look). rec is nil when there is no such
// job.
func (b *backend) load(ref backends.Ref, uid string, gen uint64) (rec *jobRecord, atts []*attemptRecord, err error) {
	err = b.read(func(tx *bolt.Tx) ([]*jobRecord, error) {
		var err error
		atts = nil
		if rec, err = getJob(tx, ref.Namespace, ref.Name); err != nil || rec == nil {
			return nil, err
		}
		if rec.UID != uid || rec.State.Generation != gen {
			atts, err = getAttempts(tx, rec.UID)
		}
		return []*jobRecord{rec}, err
	})
	if err != nil {
		return nil, nil, err
	}
	return rec, atts, nil
}

// loadAll reads every job, in (namespace, name) order: the jobs bucket's key
// order.
func (b *backend) loadAll() ([]*jobRecord, error) {
	var recs []*jobRecord
	err := b.read(func(tx *bolt.Tx) ([]*jobRecord, error) {
		recs = nil
		bk := tx.Bucket(jobsBucket)
		if bk == nil {
			return nil, nil
		}
		err := bk.ForEach(func(k, v []byte) error {
			rec := new(jobRecord)
			if err := json.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("job %q: corrupt record: %w", k, err)
			}
			recs = append(recs, rec)
			return nil
		})
		return recs, err
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// settle finishes the jobs found unfinished with their supervisor gone, each
// re-read here and left alone unless it is still that job (same uid: it may
// have been deleted and submitted again since) and unfinished. A job marked
// Deleting is deleted (returned, for removeFiles); any other is lost.
func (s *store) settle(tx *bolt.Tx, stale []*jobRecord, now time.Time) (deleted []*jobRecord, err error) {
	for _, old := range stale {
		rec, err := getJob(tx, old.Namespace, old.Name)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.UID != old.UID || rec.State.Phase.Terminal() {
			continue
		}
		if !rec.Deleting {
			if err := s.markLost(tx, rec, now); err != nil {
				return nil, err
			}
			continue
		}
		killSurvivors(rec)
		if err := deleteJob(tx, rec); err != nil {
			return nil, err
		}
		deleted = append(deleted, rec)
	}
	return deleted, nil
}

// killSurvivors kills the pods a dead supervisor left running.
func killSurvivors(rec *jobRecord) {
	for _, p := range rec.State.Procs {
		killSurvivor(p.PID, p.Start)
	}
}

// markLost records that rec's supervisor died before the job finished: its
// running attempts failed, survivors of its pods are killed.
func (s *store) markLost(tx *bolt.Tx, rec *jobRecord, now time.Time) error {
	atts, err := getAttempts(tx, rec.UID)
	if err != nil {
		return err
	}
	changed := map[uint32]*attemptRecord{}
	var pods []string
	for _, a := range atts {
		if a.active() {
			a.Phase, a.Reason, a.FinishTime = "Failed", backends.ReasonSupervisorLost, &now
			changed[a.seq] = a
			pods = append(pods, a.Pod)
		}
	}
	killSurvivors(rec)
	msg := "the supervisor process"
	if pid := s.supervisorPID(rec.UID); pid > 0 {
		msg += fmt.Sprintf(" (pid %d)", pid)
	}
	msg += " died before the job finished; "
	if len(pods) == 0 {
		msg += "no pod was running"
	} else {
		msg += "stopped pods: " + strings.Join(pods, ", ")
	}
	rec.State.Generation++
	rec.State.Phase = backends.Failed
	rec.State.Failed += rec.State.Active
	rec.State.Active = 0
	rec.State.Reason = backends.ReasonSupervisorLost
	rec.State.Message = msg
	rec.State.FinishTime = &now
	rec.State.Procs = nil
	if err := putAttempts(tx, rec.UID, changed); err != nil {
		return err
	}
	if err := putJob(tx, rec); err != nil {
		return err
	}
	return addExpiry(tx, rec)
}
