//go:build unix

package local

import (
	"os"
	"testing"
)

// TestStartTimeInFirstSnapshot: the first write that lists a container
// process already has its start time, without which a dead supervisor's
// survivor is never killed.
func TestStartTimeInFirstSnapshot(t *testing.T) {
	if !procStartTimeKnowable {
		t.Skip("no process start times here")
	}
	dir := t.TempDir()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	s := &supervisor{
		logDir: dir, devnull: devnull, inbox: make(chan func(), 1),
		plan: &Plan{Containers: []ContainerPlan{{Name: "main", Argv: []string{"true"}, WorkingDir: dir}}},
		pods: map[*pod]bool{}, procs: map[*proc]bool{}, dirty: map[uint32]*attemptRecord{},
		envs: map[*ContainerPlan]*containerEnv{},
	}
	p := &pod{name: "p-0", index: -1, done: make([]bool, 1), procs: map[*proc]bool{}}
	s.newAttempt(p)
	s.advance(p)
	state, _ := s.snapshot(false)
	<-s.inbox // posted once the process was reaped
	s.copiers.Wait()
	if len(state.Procs) != 1 || state.Procs[0].Start == 0 {
		t.Errorf("first snapshot lists %+v, want one process with its start time", state.Procs)
	}
}
