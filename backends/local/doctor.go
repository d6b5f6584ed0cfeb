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
// every job has a name, nothing is left half made or half removed. With
// repair it salvages what it can: an unreadable job is moved aside into
// quarantine/ (its logs kept there) and its name freed, so every other job
// and every command works again; leftovers are removed.
func (b *backend) Doctor(ctx context.Context, repair bool, w io.Writer) (int, error) {
	s := b.st
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "local: %s: no state yet\n", s.dir)
		return 0, nil
	}
	d := &doctor{s: s, w: w, repair: repair}
	claimed := map[string]bool{}
	claims, err := s.claims("")
	if err != nil {
		return 0, err
	}
	for _, c := range claims {
		uid, err := s.lookup(c.namespace, c.name)
		if err != nil {
			d.problem("name %s/%s: %v", c.namespace, c.name, err)
			d.fix(func() error { return os.Remove(s.claimPath(c.namespace, c.name)) }, "removed the name")
			continue
		}
		claimed[uid] = true
		if _, err := os.Lstat(s.jobDir(uid)); errors.Is(err, fs.ErrNotExist) {
			d.problem("name %s/%s: its job %s is gone (an interrupted delete)", c.namespace, c.name, uid)
			d.fix(func() error { return os.Remove(s.claimPath(c.namespace, c.name)) }, "freed the name")
			continue
		}
		d.checkJob(uid, c)
	}
	jobs, _ := os.ReadDir(filepath.Join(s.dir, "jobs"))
	for _, e := range jobs {
		uid := e.Name()
		if claimed[uid] {
			continue
		}
		st, err := s.readState(uid)
		if err == nil && !st.Status.Phase.Terminal() && s.supervisorAlive(uid, st) {
			continue // being submitted right now: its name comes last
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		d.problem("job directory %s has no name (an interrupted submit or delete)", uid)
		d.fix(func() error {
			if st != nil {
				s.stopJob(uid, st.Pods)
			}
			s.removeJob(uid)
			return nil
		}, "removed it")
	}
	d.leftovers()
	if d.problems == 0 {
		fmt.Fprintf(w, "local: %s: %d jobs, no problem found\n", s.dir, len(claims))
	} else if !repair {
		fmt.Fprintf(w, "local: %d problems; `batchctl doctor --repair` fixes them (unreadable jobs are moved to %s)\n",
			d.problems, filepath.Join(s.dir, "quarantine"))
	}
	if repair {
		return d.problems - d.fixed, nil
	}
	return d.problems, nil
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

// checkJob reads a named job's files; an unreadable one is quarantined.
func (d *doctor) checkJob(uid string, c claimRef) {
	_, recErr := d.s.readRecord(uid)
	_, stErr := d.s.readState(uid)
	if recErr == nil && stErr == nil {
		return
	}
	err := recErr
	if err == nil {
		err = stErr
	}
	d.problem("job %s/%s (%s): %v", c.namespace, c.name, uid, unwrapMsg(err))
	d.fix(func() error {
		q := filepath.Join(d.s.dir, "quarantine")
		if err := os.MkdirAll(q, 0o700); err != nil {
			return err
		}
		if err := os.Rename(d.s.jobDir(uid), filepath.Join(q, uid)); err != nil {
			return err
		}
		return os.Remove(d.s.claimPath(c.namespace, c.name))
	}, fmt.Sprintf("moved to %s, name freed", filepath.Join(d.s.dir, "quarantine", uid)))
}

// leftovers: temporary files of interrupted writes, removed jobs' trash,
// expiry entries of jobs that are gone, a database from an older batchctl.
func (d *doctor) leftovers() {
	s := d.s
	trash, _ := os.ReadDir(filepath.Join(s.dir, "trash"))
	for _, e := range trash {
		d.problem("trash/%s: a removed job's files are left", e.Name())
		d.fix(func() error { return os.RemoveAll(filepath.Join(s.dir, "trash", e.Name())) }, "removed")
	}
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

func unwrapMsg(err error) string {
	var be *backends.Error
	if errors.As(err, &be) {
		return be.Msg
	}
	return err.Error()
}
