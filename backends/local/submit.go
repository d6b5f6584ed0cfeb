package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// superviseEnv, set on a re-executed batchctl, makes MaybeSupervise run the
// supervisor of one job: "<uid>|<namespace>|<name>|<state dir>".
const superviseEnv = "_BATCHCTL_LOCAL_SUPERVISE"

func (b *backend) Submit(ctx context.Context, job *jobspec.Job) (*backends.Status, error) {
	p, err := b.plan(job, "submit")
	if err != nil {
		return nil, err
	}
	if err := b.st.init(); err != nil {
		return nil, err
	}
	uid := newUID()
	lockf, err := os.OpenFile(b.st.lockPath(uid), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, unavailable(err)
	}
	defer lockf.Close()
	if handoverLock {
		// Held from before the record exists until the supervisor exits.
		if err := lockExclusive(lockf); err != nil {
			return nil, unavailable(err)
		}
	}
	now := time.Now()
	rec := &jobRecord{UID: uid, Namespace: p.Namespace, Labels: p.Labels, Plan: p, Created: now, State: jobState{Phase: backends.Pending}}
	var gone []*jobRecord
	err = b.st.update(func(tx *bolt.Tx) error {
		var err error
		if gone, err = b.st.sweep(tx, now); err != nil {
			return err
		}
		name := p.Name
		for try := 0; ; try++ {
			if p.Name == "" {
				name = p.GenerateName + randSuffix()
			}
			old, err := getJob(tx, p.Namespace, name)
			if err != nil {
				return err
			}
			if old == nil {
				break
			}
			if p.Name != "" || try == 20 {
				return &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit",
					Ref: backends.Ref{Name: name, Namespace: p.Namespace}, Msg: fmt.Sprintf("job %q already exists in namespace %q", name, p.Namespace)}
			}
		}
		rec.Name, p.Name = name, name
		return putJob(tx, rec)
	})
	if err != nil {
		_ = os.Remove(b.st.lockPath(uid))
		return nil, err
	}
	for _, g := range gone {
		b.st.removeFiles(g.UID)
	}
	if err := b.startSupervisor(rec, lockf); err != nil {
		_ = b.st.update(func(tx *bolt.Tx) error { return deleteJob(tx, rec) })
		b.st.removeFiles(uid)
		return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: "submit", Ref: backends.Ref{Name: rec.Name, Namespace: rec.Namespace},
			Msg: "cannot start the job's supervisor: " + err.Error(), Err: err}
	}
	return toStatus(rec, nil), nil
}

// startSupervisor re-executes this program detached, in its own session,
// with stdin /dev/null and output to the job's supervisor.log.
func (b *backend) startSupervisor(rec *jobRecord, lockf *os.File) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.st.logDir(rec.UID), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(b.st.logDir(rec.UID), supervisorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(exe)
	cmd.Dir = b.st.dir
	cmd.Env = append(inheritedEnv(os.Environ(), b.hiddenEnv),
		superviseEnv+"="+strings.Join([]string{rec.UID, rec.Namespace, rec.Name, b.st.dir}, "|"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = supervisorSysProcAttr()
	if handoverLock {
		cmd.ExtraFiles = []*os.File{lockf} // fd 3 in the supervisor
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	// For Delete's signal and the lost message; the lock says if it is live.
	_, _ = lockf.WriteAt([]byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reap it if we outlive it
	if handoverLock {
		return nil
	}
	for deadline := time.Now().Add(dbTimeout); ; {
		if ok, err := tryLock(lockf, false); err == nil && !ok {
			return nil
		} else if ok {
			_ = unlock(lockf)
		}
		select {
		case <-exited:
			return errors.New("the supervisor exited at once; see " + filepath.Join(b.st.logDir(rec.UID), supervisorLog))
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the supervisor did not start in time")
		}
	}
}

const supervisorLog = "supervisor.log"

func (b *backend) Delete(ctx context.Context, ref backends.Ref) error {
	ref = b.ref(ref)
	rec, err := b.markDeleting(ref)
	if err != nil {
		return err
	}
	if rec == nil {
		return notFound("delete", ref)
	}
	if !rec.State.Phase.Terminal() {
		select {
		case <-b.st.waitUnlocked(rec.UID):
		case <-ctx.Done():
			return &backends.Error{Kind: backends.ErrUnavailable, Op: "delete", Ref: ref,
				Msg: "the job is being deleted but its pods have not stopped yet", Err: ctx.Err()}
		}
	}
	// A command that found the marked job's supervisor gone may have
	// deleted it already (see settle): that is our deletion too.
	err = b.st.update(func(tx *bolt.Tx) error {
		cur, err := getJob(tx, ref.Namespace, ref.Name)
		if err != nil || cur == nil || cur.UID != rec.UID {
			return err
		}
		if !cur.State.Phase.Terminal() {
			killSurvivors(cur) // its supervisor died before stopping them
		}
		return deleteJob(tx, cur)
	})
	if err != nil {
		return err
	}
	b.st.removeFiles(rec.UID)
	return nil
}

// markDeleting marks ref's job Deleting, for a supervisor that cannot be
// signalled to notice, and signals its supervisor to stop the pods and exit.
// rec is nil when there is no such job.
func (b *backend) markDeleting(ref backends.Ref) (rec *jobRecord, err error) {
	var gone []*jobRecord
	now := time.Now()
	err = b.st.update(func(tx *bolt.Tx) error {
		var err error
		if gone, err = b.st.sweep(tx, now); err != nil {
			return err
		}
		if rec, err = getJob(tx, ref.Namespace, ref.Name); err != nil || rec == nil {
			return err
		}
		if rec.Deleting || rec.State.Phase.Terminal() {
			return nil
		}
		rec.Deleting = true
		return putJob(tx, rec)
	})
	if err != nil {
		return nil, err
	}
	for _, g := range gone {
		b.st.removeFiles(g.UID)
	}
	if rec != nil && !rec.State.Phase.Terminal() && b.st.supervisorAlive(rec) {
		if pid := b.st.supervisorPID(rec.UID); pid > 0 {
			_ = stopSupervisor(pid)
		}
	}
	return rec, nil
}
