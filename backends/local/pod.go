package local

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// pod is one pod of the job: its init containers one after the other, then
// its containers together.
type pod struct {
	name     string
	index    int32 // completion index; -1 for NonIndexed
	attempt  int32 // 0, then +1 per in-place restart (OnFailure)
	att      *attemptRecord
	atts     []*attemptRecord
	nextInit int    // init containers that succeeded
	done     []bool // containers that exited 0
	procs    map[*proc]bool
	restarts int // in-place restarts so far, for the delay
	timers   []*time.Timer
	gone     bool // no longer active: succeeded, failed or stopped
}

// proc is one running container process.
type proc struct {
	pod   *pod
	c     *ContainerPlan
	init  bool
	ci    int // position in InitContainers or Containers
	p     *os.Process
	start uint64 // platform start time, 0 when unknown

	mu     sync.Mutex // orders signals with reaping
	reaped bool       // p's pid (its group id) may belong to someone else now
}

// schedule creates pods as the Job controller would: at most parallelism
// active, never more than completions still need, none while the backoff
// delay after the latest failure runs.
func (s *supervisor) schedule() {
	if s.ending {
		return
	}
	if wait := time.Until(s.gateUntil); wait > 0 {
		if s.gateTimer == nil {
			s.gateTimer = time.AfterFunc(wait, func() { s.post(func() { s.gateTimer = nil; s.schedule() }) })
		}
		return
	}
	for int32(len(s.pods)) < min(s.plan.Parallelism, s.plan.Completions-s.state.Succeeded) {
		if s.succeededIdx == nil {
			attempt := int32(0)
			if len(s.retries) > 0 {
				attempt, s.retries = s.retries[0], s.retries[1:]
			}
			s.startPod(-1, attempt)
			continue
		}
		idx := s.pendingIndex()
		if idx < 0 {
			return
		}
		s.startPod(idx, s.nextAttempt[idx])
	}
}

// pendingIndex is the lowest index neither succeeded nor running, or -1.
func (s *supervisor) pendingIndex() int32 {
	for s.lowIdx < len(s.succeededIdx) && s.succeededIdx[s.lowIdx] {
		s.lowIdx++
	}
	for i := s.lowIdx; i < len(s.succeededIdx); i++ {
		if !s.succeededIdx[i] && !s.activeIdx[i] {
			return int32(i)
		}
	}
	return -1
}

func (s *supervisor) startPod(index, attempt int32) {
	mid := int(index)
	if index < 0 {
		mid = s.podSeq
	}
	s.podSeq++
	p := &pod{
		name:    fmt.Sprintf("%s-%d-%s", s.name, mid, randSuffix()),
		index:   index,
		attempt: attempt,
		done:    make([]bool, len(s.plan.Containers)),
		procs:   map[*proc]bool{},
	}
	s.pods[p] = true
	if index >= 0 {
		s.activeIdx[index] = true
	}
	s.state.Active++
	s.state.Phase = backends.Running
	s.stateDirty = true
	s.newAttempt(p)
	s.advance(p)
}

func (s *supervisor) newAttempt(p *pod) {
	var index *int32
	if p.index >= 0 {
		i := p.index
		index = &i
	}
	now := time.Now()
	p.att = &attemptRecord{Pod: p.name, Index: index, Attempt: p.attempt, Phase: "Pending", StartTime: &now, seq: s.seq}
	p.atts = append(p.atts, p.att)
	s.seq++
	s.markDirty(p.att)
}

// advance starts the next init container, or all containers once the init
// containers are done.
func (s *supervisor) advance(p *pod) {
	if p.nextInit < len(s.plan.InitContainers) {
		s.startContainer(p, &s.plan.InitContainers[p.nextInit], true, p.nextInit)
		return
	}
	p.att.Phase = "Running"
	for i := range s.plan.Containers {
		s.startContainer(p, &s.plan.Containers[i], false, i)
	}
}

// startContainer starts one container process, its stdout and stderr
// into one pipe that copyOutput drains into the log file. A container that
// cannot start fails like one that exited 128.
func (s *supervisor) startContainer(p *pod, c *ContainerPlan, init bool, ci int) {
	pr := &proc{pod: p, c: c, init: init, ci: ci}
	p.att.Containers = append(p.att.Containers, c.Name)
	s.markDirty(p.att)
	path := filepath.Join(s.logDir, logName(p.name, p.attempt, c.Name))
	r, w, err := os.Pipe()
	reason := "CreateContainerError"
	if err == nil {
		reason, err = s.spawn(pr, w)
		w.Close()
	}
	if err != nil {
		if r != nil {
			r.Close()
		}
		writeLog(path, fmt.Sprintf("batchctl: %v\n", err))
		s.later(func() { s.exited(pr, 128, reason, time.Now()) })
		return
	}
	// Before any snapshot lists the process, so a survivor can be told from
	// a later process given the same pid; it cannot be reused until reaped.
	pr.start, _ = procStartTime(pr.p.Pid)
	p.procs[pr] = true
	s.procs[pr] = true
	s.copiers.Add(1)
	go s.copyOutput(r, path)
	go func() {
		code := pr.wait()
		at := time.Now()
		s.post(func() { s.exited(pr, code, "", at) })
	}()
}

// wait reaps the container process and returns its exit code. What it left
// in its process group is killed first, as tearing down a container's PID
// namespace does, while the exited but unreaped leader keeps the group id
// from being reused. Where a process cannot be waited for without reaping
// it, what it left keeps running.
func (pr *proc) wait() int32 {
	var ps *os.ProcessState
	var err error
	if waitExit(pr.p.Pid) == nil {
		pr.mu.Lock()
		killGroup(pr.p.Pid)
		ps, err = pr.p.Wait() // at once: it has exited
		pr.reaped = true
		pr.mu.Unlock()
	} else {
		ps, err = pr.p.Wait()
		pr.mu.Lock()
		pr.reaped = true
		pr.mu.Unlock()
	}
	if err != nil {
		return 128
	}
	return exitCode(ps)
}

// signal sends SIGTERM (SIGKILL if hard) to the container's process group,
// unless its leader was reaped.
func (pr *proc) signal(hard bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if !pr.reaped {
		signalGroup(pr.p, hard)
	}
}

// copyOutput copies a container's output into its log file, created on the
// first byte: most pods of a large job print nothing, and an inode per
// silent pod would cost more than the pipe.
func (s *supervisor) copyOutput(r *os.File, path string) {
	defer s.copiers.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	var f *os.File
	for {
		n, err := r.Read(buf)
		if n > 0 && f == nil {
			var ferr error
			if f, ferr = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); ferr != nil {
				log.Print(ferr)
			}
		}
		if n > 0 && f != nil {
			_, _ = f.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	if f != nil {
		f.Close()
	}
}

func writeLog(path, msg string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		log.Print(err)
		return
	}
	_, _ = f.WriteString(msg)
	f.Close()
}

// spawn execs the container's argv directly, in its working directory,
// in a new process group. reason is the Kubernetes reason when it fails.
func (s *supervisor) spawn(pr *proc, out *os.File) (reason string, err error) {
	env, argv, path, err := s.containerEnv(pr.c).resolve(pr.pod.index)
	if fi, serr := os.Stat(pr.c.WorkingDir); serr != nil || !fi.IsDir() {
		if serr == nil {
			serr = fmt.Errorf("%s is not a directory", pr.c.WorkingDir)
		}
		return "CreateContainerError", fmt.Errorf("container %s: workingDir: %w", pr.c.Name, serr)
	}
	if err != nil {
		return "StartError", fmt.Errorf("container %s: %w", pr.c.Name, err)
	}
	pr.p, err = os.StartProcess(path, argv, &os.ProcAttr{
		Dir:   pr.c.WorkingDir,
		Env:   env,
		Files: []*os.File{s.devnull, out, out},
		Sys:   podSysProcAttr(),
	})
	if err != nil {
		return "StartError", fmt.Errorf("container %s: %w", pr.c.Name, err)
	}
	return "", nil
}

func logName(pod string, attempt int32, container string) string {
	return fmt.Sprintf("%s_%d_%s.log", pod, attempt, container)
}

// exited handles the end of a container process (or its failure to start).
func (s *supervisor) exited(pr *proc, code int32, reason string, at time.Time) {
	p := pr.pod
	if pr.p != nil {
		delete(p.procs, pr)
		delete(s.procs, pr)
	}
	if p.gone || s.ending {
		// Stopped on purpose; keep the code it died with.
		for _, a := range p.atts {
			if a.ExitCode == nil && a.Phase == "Failed" {
				c := code
				a.ExitCode = &c
				s.markDirty(a)
			}
		}
		return
	}
	if code == 0 {
		if pr.init {
			p.nextInit++
			s.advance(p)
			return
		}
		p.done[pr.ci] = true
		for _, d := range p.done {
			if !d {
				return
			}
		}
		s.podSucceeded(p, at)
		return
	}
	s.containerFailed(pr, code, reason, at)
}

func (s *supervisor) podSucceeded(p *pod, at time.Time) {
	for _, a := range p.atts {
		if a.active() {
			zero := int32(0)
			a.Phase, a.ExitCode, a.Reason, a.FinishTime = "Succeeded", &zero, "Completed", &at
			s.markDirty(a)
		}
	}
	s.removePod(p)
	if p.index >= 0 {
		s.succeededIdx[p.index] = true
	}
	s.state.Succeeded++
	s.sinceSuccess = 0
	s.gateUntil = time.Time{}
	if s.state.Succeeded >= s.plan.Completions {
		s.succeed()
		return
	}
	s.schedule()
}

// containerFailed counts a failure against backoffLimit, then restarts the
// container in place (OnFailure) or fails the pod and queues a replacement
// behind the backoff delay (Never).
func (s *supervisor) containerFailed(pr *proc, code int32, reason string, at time.Time) {
	p := pr.pod
	if reason == "" {
		reason = "Error"
	}
	a := p.att
	a.Phase, a.ExitCode, a.Reason, a.FinishTime = "Failed", &code, reason, &at
	s.markDirty(a)
	s.failures++
	exceeded := s.failures > s.plan.BackoffLimit
	if s.plan.RestartPolicy == "OnFailure" && !exceeded {
		p.restarts++
		t := time.AfterFunc(s.plan.Backoff.delay(p.restarts), func() { s.post(func() { s.restart(pr) }) })
		p.timers = append(p.timers, t)
		return
	}
	s.state.Failed++
	s.dropPod(p, reason, at)
	if exceeded {
		s.fail(backends.ReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")
		return
	}
	s.sinceSuccess++
	s.gateUntil = at.Add(s.plan.Backoff.delay(s.sinceSuccess))
	if p.index >= 0 {
		s.nextAttempt[p.index] = p.attempt + 1
	} else {
		s.retries = append(s.retries, p.attempt+1)
	}
	s.schedule()
}

// restart runs a failed container again in the same pod, as a new attempt.
func (s *supervisor) restart(pr *proc) {
	p := pr.pod
	if p.gone || s.ending {
		return
	}
	p.attempt++
	s.newAttempt(p)
	if !pr.init {
		p.att.Phase = "Running"
	}
	s.startContainer(p, pr.c, pr.init, pr.ci)
}

// removePod takes p out of the active pods.
func (s *supervisor) removePod(p *pod) {
	p.gone = true
	for _, t := range p.timers {
		t.Stop()
	}
	if s.pods[p] {
		delete(s.pods, p)
		s.state.Active--
		s.stateDirty = true
		if p.index >= 0 {
			s.activeIdx[p.index] = false
		}
	}
}

// dropPod removes p and stops its processes: SIGTERM, SIGKILL after the
// grace period. Its unfinished attempts fail with reason.
func (s *supervisor) dropPod(p *pod, reason string, at time.Time) {
	s.removePod(p)
	for _, a := range p.atts {
		if a.active() && reason != "" {
			a.Phase, a.Reason, a.FinishTime = "Failed", reason, &at
			s.markDirty(a)
		}
	}
	if len(p.procs) == 0 {
		return
	}
	for pr := range p.procs {
		pr.signal(false)
	}
	time.AfterFunc(killGrace, func() {
		s.post(func() {
			for pr := range p.procs {
				pr.signal(true)
			}
		})
	})
}
