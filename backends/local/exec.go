package local

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller"
)

// execRuntime runs containers as processes on this machine: each one a
// process group (and, where cgroups can be managed, a cgroup: see jails),
// stdin /dev/null, stdout and stderr merged into its log file.
type execRuntime struct {
	uid     string
	jails   *jails
	devnull *os.File
	// copiers are the goroutines copying output into logs, drained before
	// the job is reported finished.
	copiers sync.WaitGroup

	mu    sync.Mutex           // guards procs: signals race with reaping
	procs map[string]*execProc // by pod + "/" + container
}

// execProc is one running container process.
type execProc struct {
	p      *os.Process
	jail   string
	reaped bool // its pid (its group id) may belong to someone else now
}

func newExecRuntime(uid string) (*execRuntime, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	return &execRuntime{uid: uid, jails: newJails(), devnull: devnull, procs: map[string]*execProc{}}, nil
}

// baseEnv: containers inherit the environment Submit gave the supervisor
// (the submitter's, filtered).
func (r *execRuntime) baseEnv() []string { return inheritedEnv(os.Environ(), nil) }

func (r *execRuntime) prepare(p *podRun) error { return nil }

// start execs the container's argv directly (no shell), in its working
// directory and its own process group, started inside its jail. It runs
// when start returns.
func (r *execRuntime) start(p *podRun, c *containerSpec, logPath string, _ func(time.Time), exited func(jobcontroller.Exit, time.Time)) (bool, error) {
	if err := r.startProcess(p, c, logPath, exited); err != nil {
		return false, err
	}
	return true, nil
}

func (r *execRuntime) startProcess(p *podRun, c *containerSpec, logPath string, exited func(jobcontroller.Exit, time.Time)) error {
	if c.pathErr != nil {
		return c.pathErr
	}
	if fi, err := os.Stat(c.plan.WorkingDir); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory", c.plan.WorkingDir)
		}
		return fmt.Errorf("workingDir: %w", err)
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	jail := ""
	leave := func() {}
	if r.jails.available() {
		jail = r.jails.path(r.uid, p.name, c.plan.Name)
		if err := r.jails.create(jail); err == nil {
			if l, err := r.jails.enter(jail); err == nil {
				leave = l
				p.jails = append(p.jails, jail)
			} else {
				jail = ""
			}
		} else {
			jail = ""
		}
	}
	proc, err := os.StartProcess(c.path, c.argv, &os.ProcAttr{
		Dir:   c.plan.WorkingDir,
		Env:   c.env,
		Files: []*os.File{r.devnull, wr, wr},
		Sys:   podSysProcAttr(),
	})
	leave()
	wr.Close()
	if err != nil {
		rd.Close()
		return err
	}
	// Before any state write lists the process, so a survivor can be told
	// from a later process given the same pid: it cannot be reused until
	// reaped.
	start, _ := procStartTime(proc.Pid)
	key := p.name + "/" + c.plan.Name
	ep := &execProc{p: proc, jail: jail}
	r.mu.Lock()
	r.procs[key] = ep
	r.mu.Unlock()
	p.procs[c.plan.Name] = procRef{PID: proc.Pid, Start: start}

	copied := make(chan struct{})
	r.copiers.Add(1)
	go func() {
		defer r.copiers.Done()
		defer close(copied)
		copyOutput(rd, logPath)
	}()
	go func() {
		code := r.wait(key, ep)
		at := time.Now()
		// The log holds the run's output before its exit is reported; a
		// process that escaped its group and jail may keep the pipe open,
		// so this waits a little, not for ever.
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
			log.Printf("container %s: output still open after exit; reporting the exit", key)
		}
		exited(jobcontroller.Exit{Code: code}, at)
	}()
	return nil
}

// wait reaps the container process and returns its exit code. What it left
// in its process group or jail is killed first, as tearing down a
// container's PID namespace does, while the exited but unreaped leader
// keeps the group id from being reused.
func (r *execRuntime) wait(key string, ep *execProc) int32 {
	var ps *os.ProcessState
	var err error
	if waitExit(ep.p.Pid) == nil {
		r.mu.Lock()
		killGroup(ep.p.Pid)
		r.jails.kill(ep.jail)
		ps, err = ep.p.Wait() // at once: it has exited
		ep.reaped = true
		r.mu.Unlock()
	} else {
		ps, err = ep.p.Wait()
		r.mu.Lock()
		ep.reaped = true
		r.mu.Unlock()
		r.jails.kill(ep.jail)
	}
	r.mu.Lock()
	if r.procs[key] == ep {
		delete(r.procs, key)
	}
	r.mu.Unlock()
	if err != nil {
		return 128
	}
	return exitCode(ps)
}

// signal sends SIGTERM (SIGKILL if hard) to each container of p: its
// process group and its jail.
func (r *execRuntime) signal(p *podRun, hard bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, ep := range r.procs {
		if filepath.Dir(key) != p.name || ep.reaped {
			continue
		}
		signalGroup(ep.p, hard)
		if hard {
			r.jails.kill(ep.jail)
		} else {
			r.jails.signal(ep.jail, syscall.SIGTERM)
		}
	}
}

func (r *execRuntime) release(p *podRun) {
	for _, j := range p.jails {
		r.jails.remove(j)
	}
	if len(p.jails) > 0 {
		r.jails.remove(filepath.Dir(p.jails[0])) // the pod's own
	}
	p.jails = nil
}

func (r *execRuntime) drain(timeout time.Duration) bool {
	drained := make(chan struct{})
	go func() { r.copiers.Wait(); close(drained) }()
	select {
	case <-drained:
		return true
	case <-time.After(timeout):
		return false
	}
}

// cleanup: processes are gone by then (their groups and jails killed).
func (r *execRuntime) cleanup([]*podRun) {}

// close removes the pods' jails and the job's, and closes /dev/null.
func (r *execRuntime) close(pods []*podRun) {
	for _, p := range pods {
		r.release(p)
	}
	if r.jails.available() {
		r.jails.remove(r.jails.jobPath(r.uid))
	}
	r.devnull.Close()
}

func (r *execRuntime) survivors(p *podRun) podRef {
	ref := podRef{Name: p.name}
	if r.jails.available() {
		ref.Jail = r.jails.path(r.uid, p.name, "")
	}
	for _, pr := range p.procs {
		ref.Procs = append(ref.Procs, pr)
	}
	return ref
}

// copyOutput copies a container's output into its log (see containerLog).
func copyOutput(r *os.File, path string) {
	defer r.Close()
	w := &containerLog{path: path}
	defer w.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		_, _ = w.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

// writeLog appends msg to a container's log, with its time.
func writeLog(path, msg string) {
	w := &containerLog{path: path}
	_, _ = w.Write([]byte(msg))
	w.close()
}

// stopSurvivors kills what a dead supervisor's pods left: each pod's jail
// (all of its processes, whatever their pid) and, where there is no jail,
// the process groups it recorded.
func stopSurvivors(uid string, pods []podRef) {
	j := newJails()
	if j.available() {
		j.kill(j.jobPath(uid))
		j.remove(j.jobPath(uid))
	}
	for _, p := range pods {
		for _, pr := range p.Procs {
			killSurvivor(pr.PID, pr.Start)
		}
	}
}
