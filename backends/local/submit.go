package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

func (b *backend) Submit(ctx context.Context, job *jobspec.Job) (*backends.Status, error) {
	p, err := b.plan(job, "submit")
	if err != nil {
		return nil, err
	}
	if err := b.st.init(); err != nil {
		return nil, err
	}
	b.st.sweep(time.Now())
	uid := newUID()
	manifest := job.Object.DeepCopy()
	manifest.Namespace = p.Namespace
	rec := &jobRecord{UID: uid, Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Created: time.Now(), Plan: p, Manifest: manifest}
	if rec.Name == "" {
		rec.Name = p.GenerateName + randSuffix()
		p.Name, manifest.Name = rec.Name, rec.Name
	}
	lockf, err := b.st.createJob(rec, job.Suspend)
	if err != nil {
		b.st.removeJob(uid)
		return nil, unavailable(err)
	}
	defer lockf.Close()
	// The name is claimed last: until then no other command sees the job.
	if err := b.claimName(rec, job.Suspend); err != nil {
		b.st.removeJob(uid)
		return nil, err
	}
	if err := b.startSupervisor(rec, lockf); err != nil {
		b.st.unclaim(rec.Namespace, rec.Name, uid)
		b.st.removeJob(uid)
		return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: "submit", Ref: backends.Ref{Name: rec.Name, Namespace: rec.Namespace},
			Msg: "cannot start the job's supervisor: " + err.Error(), Err: err}
	}
	st := initialStatus(rec, job.Suspend)
	return &st, nil
}

// claimName claims the job's name. A generated name (generateName) that
// is taken is generated again, as the API server does.
func (b *backend) claimName(rec *jobRecord, suspend bool) error {
	for try := 0; ; try++ {
		err := b.st.claim(rec.Namespace, rec.Name, rec.UID)
		if err == nil || !errors.Is(err, backends.ErrAlreadyExists) || rec.Plan.GenerateName == "" || try == 20 {
			return err
		}
		rec.Name = rec.Plan.GenerateName + randSuffix()
		rec.Plan.Name, rec.Manifest.Name = rec.Name, rec.Name
		st := initialStatus(rec, suspend)
		if err := b.st.writeRecord(rec); err != nil {
			return unavailable(err)
		}
		if err := b.st.writeState(rec.UID, &jobState{Status: st}, true); err != nil {
			return unavailable(err)
		}
	}
}

// createJob writes a new job's directory: its lock (taken, for the
// supervisor), record, first state, preallocated outcome and request files.
func (s *store) createJob(rec *jobRecord, suspend bool) (*os.File, error) {
	uid := rec.UID
	if err := os.Mkdir(s.jobDir(uid), 0o700); err != nil {
		return nil, err
	}
	if err := os.Mkdir(s.logDir(uid), 0o700); err != nil {
		return nil, err
	}
	lockf, err := openNoFollow(s.lockPath(uid), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	// Held from before the name is claimed until the supervisor exits: the
	// job never looks abandoned.
	if handoverLock {
		if err := lockExclusive(lockf); err != nil {
			lockf.Close()
			return nil, err
		}
	}
	files := []string{readersFile}
	if suspend {
		files = append(files, suspendFile)
	}
	for _, name := range files {
		f, err := openNoFollow(s.file(uid, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			lockf.Close()
			return nil, err
		}
		f.Close()
	}
	err = s.writeRecord(rec)
	if err == nil {
		err = s.preallocateOutcome(uid)
	}
	if err == nil {
		st := initialStatus(rec, suspend)
		err = s.writeState(uid, &jobState{Status: st}, true)
	}
	if err != nil {
		lockf.Close()
		return nil, err
	}
	return lockf, nil
}

func (s *store) writeRecord(rec *jobRecord) error {
	return writeJSON(s.file(rec.UID, jobFile), rec, true)
}

// initialStatus is a job's status before its supervisor writes one.
func initialStatus(rec *jobRecord, suspend bool) backends.Status {
	created := rec.Created
	st := backends.Status{Name: rec.Name, Namespace: rec.Namespace, Backend: "local", UID: rec.UID, Phase: backends.Pending,
		Completions: rec.Plan.Completions, Parallelism: rec.Plan.Parallelism, CompletionMode: rec.Plan.CompletionMode,
		CreationTime: &created, Labels: rec.Labels}
	if suspend {
		st.Reason, st.Message = backends.ReasonSuspended, "Job suspended"
	}
	return st
}

// startSupervisor re-executes this program detached, in its own session,
// with stdin /dev/null and output to the job's supervisor.log.
func (b *backend) startSupervisor(rec *jobRecord, lockf *os.File) error {
	out, err := openNoFollow(filepath.Join(b.st.logDir(rec.UID), supervisorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := startDetached(b.st.dir, b.st.file(rec.UID, pidFile), superviseEnv+"="+rec.UID+"|"+b.st.dir,
		inheritedEnv(os.Environ(), b.hiddenEnv), out, lockf); err != nil {
		return fmt.Errorf("the supervisor: %w; see %s", err, out.Name())
	}
	return nil
}

// startDetached starts this program as a detached helper process (a job's
// supervisor, a CronJob's scheduler) in dir with env plus the one variable
// that says what to be, output to out, the lock handed over as fd 3 (or,
// where locks cannot be handed over, taken by the helper before this
// returns); its pid and start time go to pidPath, for Delete's signal and
// for liveness should the lock file go.
func startDetached(dir, pidPath, role string, env []string, out *os.File, lockf *os.File) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Dir = dir
	cmd.Env = append(env, role)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = supervisorSysProcAttr()
	if handoverLock {
		cmd.ExtraFiles = []*os.File{lockf}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	start, _ := procStartTime(cmd.Process.Pid)
	if err := writeAtomic(pidPath, []byte(fmt.Sprintf("%d %d\n", cmd.Process.Pid, start)), false); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reap it if we outlive it
	if handoverLock {
		return nil
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ok, err := tryLock(lockf, false); err == nil && !ok {
			return nil
		} else if ok {
			_ = unlock(lockf)
		}
		select {
		case <-exited:
			return errors.New("exited at once")
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("did not start in time")
		}
	}
}

const supervisorLog = "supervisor.log"
