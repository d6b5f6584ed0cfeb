package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batchctl/batchctl/backends"
)

var _ backends.Doctor = (*backend)(nil)

// Doctor checks the state directory: every name leads to a readable job,
// every job has a name, nothing is left half made or half removed; the
// same for CronJobs. With repair it salvages what it can: an unreadable job
// or CronJob (its scheduler stopped) is moved aside into
// quarantine/ (its logs kept there) and its name freed, so every other job
// and every command works again; leftovers are removed.
func (b *backend) Doctor(ctx context.Context, repair bool, w io.Writer) (int, error) {
	s := b.st
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "local: %s: no state yet\n", s.dir)
		return 0, nil
	}
	d := &doctor{s: s, w: w, repair: repair}
	jobs, err := d.checkNames(s, "job", func(uid string) error {
		if _, err := s.readRecord(uid); err != nil {
			return err
		}
		_, err := s.readState(uid)
		return err
	})
	if err != nil {
		return 0, err
	}
	d.unnamed(s, "job", func(uid string) (bool, func()) {
		st, err := s.readState(uid)
		if err == nil && !st.Status.Phase.Terminal() && s.supervisorAlive(uid, st) {
			return true, nil // being submitted right now: its name comes last
		}
		return false, func() {
			if st != nil {
				s.stopJob(uid, st.Pods)
			}
		}
	})
	found := fmt.Sprintf("%d jobs", len(jobs))
	// CronJobs keep the same layout in a store of their own (cron.go).
	if cs := b.cron(); dirExists(cs.dir) {
		crons, err := d.checkNames(cs, "cronjob", func(uid string) error {
			if _, err := cs.readCronRecord(uid); err != nil {
				return err
			}
			_, err := cs.readCronState(uid)
			return err
		})
		if err != nil {
			return 0, err
		}
		d.unnamed(cs, "cronjob", func(uid string) (bool, func()) {
			rec, err := cs.readCronRecord(uid)
			return err == nil && cs.schedulerAlive(uid, rec), nil // alive: being submitted or deleted
		})
		d.trash(cs)
		found += fmt.Sprintf(", %d cronjobs", len(crons))
	}
	d.leftovers()
	if d.problems == 0 {
		fmt.Fprintf(w, "local: %s: %s, no problem found\n", s.dir, found)
	} else if !repair {
		fmt.Fprintf(w, "local: %d problems; `batchctl doctor --repair` fixes them (unreadable jobs are moved to %s)\n",
			d.problems, filepath.Join(s.dir, "quarantine"))
	}
	if repair {
		return d.problems - d.fixed, nil
	}
	return d.problems, nil
}

// checkNames checks every name of store st (of jobs or of CronJobs, what
// says which): it leads to an object that read finds whole, or is a
// problem; it returns the names.
func (d *doctor) checkNames(st *store, what string, read func(uid string) error) ([]claimRef, error) {
	claims, err := st.claims("")
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		uid, err := st.lookup(c.namespace, c.name)
		if err != nil {
			d.problem("name %s/%s: %v", c.namespace, c.name, err)
			d.fix(func() error { return os.Remove(st.claimPath(c.namespace, c.name)) }, "removed the name")
			continue
		}
		if _, err := os.Lstat(st.jobDir(uid)); errors.Is(err, fs.ErrNotExist) {
			d.problem("name %s/%s: its %s %s is gone (an interrupted delete)", c.namespace, c.name, what, uid)
			d.fix(func() error { return os.Remove(st.claimPath(c.namespace, c.name)) }, "freed the name")
			continue
		}
		if err := read(uid); err != nil {
			d.quarantine(st, what, uid, c, err)
		}
	}
	return claims, nil
}

// unnamed finds the directories of store st that no name leads to: left by
// an interrupted submit or delete, unless busy says they are in use; they
// are removed after clean (nil: nothing to stop first).
func (d *doctor) unnamed(st *store, what string, busy func(uid string) (bool, func())) {
	named := map[string]bool{}
	claims, _ := st.claims("")
	for _, c := range claims {
		if uid, err := st.lookup(c.namespace, c.name); err == nil {
			named[uid] = true
		}
	}
	dirs, _ := os.ReadDir(filepath.Join(st.dir, "jobs"))
	for _, e := range dirs {
		uid := e.Name()
		if named[uid] {
			continue
		}
		inUse, clean := busy(uid)
		if inUse {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		d.problem("%s directory %s has no name (an interrupted submit or delete)", what, uid)
		d.fix(func() error {
			if clean != nil {
				clean()
			}
			st.removeJob(uid)
			return nil
		}, "removed it")
	}
}

type doctor struct {
	s               *store
	w               io.Writer
	repair          bool
	problems, fixed int
}

func (d *doctor) problem(format string, args ...any) {
	d.problems++
	fmt.Fprintf(d.w, "local: problem: "+format+"\n", args...)
}

func (d *doctor) fix(do func() error, what string) {
	if !d.repair {
		return
	}
	if err := do(); err != nil {
		fmt.Fprintf(d.w, "local:   not repaired: %v\n", err)
		return
	}
	d.fixed++
	fmt.Fprintf(d.w, "local:   repaired: %s\n", what)
}

// quarantine moves an unreadable object of store st aside, logs and all,
// and frees its name.
func (d *doctor) quarantine(st *store, what, uid string, c claimRef, err error) {
	d.problem("%s %s/%s (%s): %v", what, c.namespace, c.name, uid, unwrapMsg(err))
	q := filepath.Join(d.s.dir, "quarantine")
	d.fix(func() error {
		if what == "cronjob" {
			// A live scheduler would go on creating Jobs from what it
			// read at its start.
			st.stopHelper(uid)
		}
		if err := os.MkdirAll(q, 0o700); err != nil {
			return err
		}
		if err := os.Rename(st.jobDir(uid), filepath.Join(q, uid)); err != nil {
			return err
		}
		return os.Remove(st.claimPath(c.namespace, c.name))
	}, fmt.Sprintf("moved to %s, name freed", filepath.Join(q, uid)))
}

// trash: a removed object's files left behind in store st.
func (d *doctor) trash(st *store) {
	trash, _ := os.ReadDir(filepath.Join(st.dir, "trash"))
	for _, e := range trash {
		d.problem("%s: a removed object's files are left", filepath.Join(st.dir, "trash", e.Name()))
		d.fix(func() error { return os.RemoveAll(filepath.Join(st.dir, "trash", e.Name())) }, "removed")
	}
}

// leftovers: temporary files of interrupted writes, removed jobs' trash,
// expiry entries of jobs that are gone, a database from an older batchctl.
func (d *doctor) leftovers() {
	s := d.s
	d.trash(s)
	_ = filepath.WalkDir(s.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(e.Name(), ".tmp-") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
				d.problem("%s: left by an interrupted write", p)
				d.fix(func() error { return os.Remove(p) }, "removed")
			}
		}
		return nil
	})
	exp, _ := os.ReadDir(filepath.Join(s.dir, "expiry"))
	for _, e := range exp {
		_, uid, _ := strings.Cut(e.Name(), "-")
		if _, err := os.Lstat(s.jobDir(uid)); errors.Is(err, fs.ErrNotExist) {
			d.problem("expiry/%s: its job is gone", e.Name())
			d.fix(func() error { return os.Remove(filepath.Join(s.dir, "expiry", e.Name())) }, "removed")
		}
	}
	if _, err := os.Stat(filepath.Join(s.dir, "state.db")); err == nil {
		d.problem("state.db: the job database of an older batchctl; its jobs are not read any more")
		d.fix(func() error { return os.Rename(filepath.Join(s.dir, "state.db"), filepath.Join(s.dir, "state.db.old")) }, "renamed state.db.old")
	}
}

// stopHelper stops the live helper process (a CronJob's scheduler) its pid
// file names, and waits a while for its lock.
func (s *store) stopHelper(uid string) {
	pid, start := s.supervisorProc(uid)
	if pid <= 0 {
		return
	}
	if now, ok := procStartTime(pid); procStartTimeKnowable && (!ok || now != start) {
		return // gone, or the pid is someone else's now
	}
	if stopSupervisor(pid) == nil {
		select {
		case <-s.waitUnlocked(uid):
		case <-time.After(10 * time.Second):
		}
	}
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func unwrapMsg(err error) string {
	var be *backends.Error
	if errors.As(err, &be) {
		return be.Msg
	}
	return err.Error()
}
