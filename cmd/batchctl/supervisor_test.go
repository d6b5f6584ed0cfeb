//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["killsupervisor"] = killSupervisorCmd
}

// killSupervisorCmd SIGKILLs the process supervising a local job, as a crash
// or an OOM kill would, and returns once the kernel has released its lock:
// `killsupervisor NAME`. The pid is the one Submit recorded in the job's
// directory under $XDG_STATE_HOME/batchctl/jobs.
func killSupervisorCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: killsupervisor NAME")
	}
	ts.Check(ts.Exec("batchctl", "status", "-o", "json", args[0]))
	var st struct{ UID string }
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &st))
	dir := filepath.Join(ts.Getenv("XDG_STATE_HOME"), "batchctl", "jobs", st.UID)
	lock := filepath.Join(dir, "lock")
	b, err := os.ReadFile(filepath.Join(dir, "supervisor"))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.Fields(string(b))[0])
	ts.Check(err)
	ts.Check(syscall.Kill(pid, syscall.SIGKILL))

	f, err := os.Open(lock)
	ts.Check(err)
	defer f.Close()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			ts.Fatalf("supervisor %d still holds %s", pid, lock)
		}
		time.Sleep(10 * time.Millisecond) // polling the real condition: the lock
	}
	ts.Check(syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
}
