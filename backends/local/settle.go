package local

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
)

// Every command that reads a job first settles what time decided without a
// supervisor to write it: TTLs that passed delete their jobs, and an
// unfinished job whose supervisor lock is free was abandoned.

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

// load reads one job and its attempts after settling. With lastLook, a job
// this very call found expired is still returned (Watch shows it finished
// before reporting it gone). rec is nil when there is no such job.
func (b *backend) load(ref backends.Ref, lastLook bool) (rec *jobRecord, atts []*attemptRecord, err error) {
	now := time.Now()
	fix := false
	err = b.st.view(func(tx *bolt.Tx) error {
		fix = expiredBefore(tx, now)
		if rec, err = getJob(tx, ref.Namespace, ref.Name); err != nil || rec == nil {
			return err
		}
		atts, err = getAttempts(tx, rec.UID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	lost := rec != nil && !rec.State.Phase.Terminal() && !b.st.supervisorAlive(rec)
	if !fix && !lost {
		return rec, atts, nil
	}
	var gone []*jobRecord
	err = b.st.update(func(tx *bolt.Tx) error {
		if gone, err = sweep(tx, now); err != nil {
			return err
		}
		if rec, err = getJob(tx, ref.Namespace, ref.Name); err != nil {
			return err
		}
		if rec == nil {
			for _, g := range gone {
				if lastLook && g.Namespace == ref.Namespace && g.Name == ref.Name {
					rec = g
				}
			}
			return nil
		}
		if lost {
			if err := b.st.markLost(tx, rec, now); err != nil {
				return err
			}
		}
		atts, err = getAttempts(tx, rec.UID)
		return err
	})
	for _, g := range gone {
		b.st.removeFiles(g.UID)
	}
	if err != nil {
		return nil, nil, err
	}
	return rec, atts, nil
}

// loadAll reads every job after settling, sorted by namespace then name.
func (b *backend) loadAll() ([]*jobRecord, error) {
	now := time.Now()
	var recs []*jobRecord
	fix := false
	scan := func(tx *bolt.Tx) error {
		recs = recs[:0]
		bk := tx.Bucket(jobsBucket)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error {
			rec := new(jobRecord)
			if err := json.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("job %q: corrupt record: %w", k, err)
			}
			recs = append(recs, rec)
			return nil
		})
	}
	err := b.st.view(func(tx *bolt.Tx) error {
		fix = expiredBefore(tx, now)
		return scan(tx)
	})
	if err != nil {
		return nil, err
	}
	lost := map[string]bool{}
	for _, rec := range recs {
		if !rec.State.Phase.Terminal() && !b.st.supervisorAlive(rec) {
			lost[rec.UID] = true
		}
	}
	if fix || len(lost) > 0 {
		var gone []*jobRecord
		err = b.st.update(func(tx *bolt.Tx) error {
			var err error
			if gone, err = sweep(tx, now); err != nil {
				return err
			}
			if err := scan(tx); err != nil {
				return err
			}
			for _, rec := range recs {
				if lost[rec.UID] {
					if err := b.st.markLost(tx, rec, now); err != nil {
						return err
					}
				}
			}
			return nil
		})
		for _, g := range gone {
			b.st.removeFiles(g.UID)
		}
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Namespace != recs[j].Namespace {
			return recs[i].Namespace < recs[j].Namespace
		}
		return recs[i].Name < recs[j].Name
	})
	return recs, nil
}

// markLost records that rec's supervisor died, if the record (re-read in
// this write transaction, after the lock was seen free) is still
// unfinished: its running attempts failed, survivors of its pods are killed.
func (s *store) markLost(tx *bolt.Tx, rec *jobRecord, now time.Time) error {
	if rec.State.Phase.Terminal() {
		return nil
	}
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
	for _, p := range rec.State.Procs {
		killSurvivor(p.PID, p.Start)
	}
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
