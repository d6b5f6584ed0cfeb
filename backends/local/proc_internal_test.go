//go:build unix

package local

import (
	"os"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller"
)

// TestStartTimeKnownAtStart: a container process is listed with its start
// time as soon as it starts, without which a dead supervisor's survivor
// could not be told from a later process given the same pid.
func TestStartTimeKnownAtStart(t *testing.T) {
	if !procStartTimeKnowable {
		t.Skip("no process start times here")
	}
	dir := t.TempDir()
	rt, err := newExecRuntime("uid-test")
	if err != nil {
		t.Fatal(err)
	}
	defer rt.devnull.Close()
	p := &podRun{name: "p-0", running: map[string]bool{}, procs: map[string]procRef{}}
	c := &containerSpec{plan: &ContainerPlan{Name: "main", WorkingDir: dir}, argv: []string{"sleep", "0.1"}, env: os.Environ()}
	c.path, c.pathErr = lookPath("sleep", os.Getenv("PATH"))
	exited := make(chan jobcontroller.Exit, 1)
	if running, err := rt.start(p, c, dir+"/log", nil, func(e jobcontroller.Exit, _ time.Time) { exited <- e }); err != nil || !running {
		t.Fatal(running, err)
	}
	ref := rt.survivors(p)
	if len(ref.Procs) != 1 || ref.Procs[0].Start == 0 {
		t.Errorf("survivors right after start: %+v, want one process with its start time", ref.Procs)
	}
	if e := <-exited; e.Code != 0 {
		t.Errorf("exit %d", e.Code)
	}
	rt.release(p)
}
