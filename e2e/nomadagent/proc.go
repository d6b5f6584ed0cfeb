//go:build unix

package nomadagent

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is one nomad agent process.
type proc struct {
	Name   string   `json:"name"` // agent (-dev), server or client
	Args   []string `json:"args"`
	Config string   `json:"config"` // its cmdline names it: how Load recognises it
	Addr   string   `json:"addr"`   // its own HTTP address
	PID    int      `json:"pid"`

	done    chan struct{} // closed when our child exits; nil after Load
	exitErr error         // cmd.Wait's result, once done is closed
}

func (p *proc) start(opts Options, logPath string) error {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "==== batchctl nomadagent: start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(opts.Binary, p.Args...)
	cmd.Dir = opts.WorkDir
	cmd.Env = append(os.Environ(), envMarker+"="+opts.WorkDir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr(opts.Detach)
	if err := cmd.Start(); err != nil {
		return err
	}
	p.PID = cmd.Process.Pid
	p.done = make(chan struct{})
	go func(p *proc, done chan struct{}) { p.exitErr = cmd.Wait(); close(done) }(p, p.done)
	return nil
}

// terminate sends SIGINT (Nomad shuts down; -dev destroys its allocations,
// a persistent client leaves its tasks running to reattach to), waits, and
// escalates to SIGKILL. It only ever signals p.PID while alive() holds.
func (p *proc) terminate(logf func(string, ...any)) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGINT)
	if p.waitExit(45 * time.Second) {
		return nil
	}
	logf("nomad %s pid %d ignored SIGINT; sending SIGKILL", p.Name, p.PID)
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	if p.waitExit(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("nomad %s pid %d did not exit", p.Name, p.PID)
}

func (p *proc) waitExit(d time.Duration) bool {
	if p.done != nil {
		select {
		case <-p.done:
			return true
		case <-time.After(d):
			return false
		}
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !p.alive() {
			return true
		}
	}
	return false
}

// alive reports whether p.PID is still ours: our child that has not exited,
// or (after Load) a live process whose command line names our config file,
// so that a recycled PID is never signalled.
func (p *proc) alive() bool {
	if p.PID <= 0 {
		return false
	}
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
		return false // exited, not yet reaped
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	return strings.Contains(string(cmdline), "\x00"+p.Config+"\x00")
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
