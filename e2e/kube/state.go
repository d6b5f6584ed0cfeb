package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// State records a detached cluster's processes so that another process
// (make k8s-down) can stop exactly them.
type State struct {
	Kubeconfig string
	Server     string
	Procs      []ProcState // in start order
}

// ProcState identifies one process by PID and kernel start time.
type ProcState struct {
	Name  string
	PID   int
	Start uint64
}

// SaveState writes the cluster's State as JSON to path.
func (c *Cluster) SaveState(path string) error {
	st := State{Kubeconfig: c.Kubeconfig, Server: c.Server}
	for _, p := range c.procs {
		if p.exited() {
			continue
		}
		pid := p.cmd.Process.Pid
		start, _, err := procStartTime(pid)
		if err != nil {
			return fmt.Errorf("kube: %s: %w", p.name, err)
		}
		st.Procs = append(st.Procs, ProcState{Name: p.name, PID: pid, Start: start})
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// LoadState reads a State written by SaveState.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st State
	return &st, json.Unmarshal(b, &st)
}

// Alive reports whether every recorded process is still running.
func (st *State) Alive() bool {
	for _, p := range st.Procs {
		if !alive(p.PID, p.Start) {
			return false
		}
	}
	return len(st.Procs) > 0
}

// Stop stops the recorded processes that are still the ones recorded, in
// reverse order: SIGTERM, then SIGKILL after grace.
func (st *State) Stop(grace time.Duration) error {
	var errs []error
	for i := len(st.Procs) - 1; i >= 0; i-- {
		p := st.Procs[i]
		if !alive(p.PID, p.Start) {
			continue
		}
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
		if !waitGone(p, grace) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
			if !waitGone(p, 5*time.Second) {
				errs = append(errs, fmt.Errorf("%s (pid %d) did not exit", p.Name, p.PID))
			}
		}
	}
	return errors.Join(errs...)
}

func waitGone(p ProcState, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !alive(p.PID, p.Start) {
			return true
		}
	}
	return !alive(p.PID, p.Start)
}
