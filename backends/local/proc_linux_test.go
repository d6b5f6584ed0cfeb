package local

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// TestGroupKilledBeforeReap: what a container leaves in its process group is
// killed while its exited leader is still unreaped (a zombie), so the group
// id cannot have been reused by then.
func TestGroupKilledBeforeReap(t *testing.T) {
	p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "sleep 30 & exit 3"}, &os.ProcAttr{Sys: podSysProcAttr()})
	if err != nil {
		t.Fatal(err)
	}
	var state byte
	real := killGroup
	defer func() { killGroup = real }()
	killGroup = func(pgid int) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pgid))
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) {
			state = b[i+2]
		}
		real(pgid)
	}
	rt := &execRuntime{jails: &jails{}, procs: map[string]*execProc{}}
	if code := rt.wait("p/main", &execProc{p: p}); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if state != 'Z' {
		t.Errorf("the group was killed with its leader in state %q, want Z (exited, unreaped)", state)
	}
}
