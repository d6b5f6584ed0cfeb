//go:build linux

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
	Node       *NodeState  // the real node's names, when there is one
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
	if c.node != nil {
		st.Node = &c.node.NodeState
	}
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
// reverse order: SIGTERM, then SIGKILL after grace. A real node is torn down
// as Cluster.Stop does it: the kubelet first, then every pod through the
// CRI, then containerd and the rest, then what the node left behind.
func (st *State) Stop(grace time.Duration) error {
	var errs []error
	stop := func(p ProcState) {
		if !alive(p.PID, p.Start) {
			return
		}
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
		if !waitGone(p, grace) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
			if !waitGone(p, 5*time.Second) {
				errs = append(errs, fmt.Errorf("%s (pid %d) did not exit", p.Name, p.PID))
			}
		}
	}
	if st.Node != nil {
		for _, p := range st.Procs {
			if p.Name == "kubelet" {
				stop(p)
			}
		}
		for _, p := range st.Procs {
			if p.Name == "containerd" && alive(p.PID, p.Start) {
				if err := criReset(*st.Node); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for i := len(st.Procs) - 1; i >= 0; i-- {
		stop(st.Procs[i])
	}
	if st.Node != nil {
		if err := cleanupNode(*st.Node, nil); err != nil {
			errs = append(errs, err)
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
