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
	scriptCmds["waitlog"] = waitLogCmd
}

// waitLogCmd polls `batchctl logs NAME` until a line reads TEXT: the
// condition scripts need before acting on a running job.
func waitLogCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlog NAME TEXT")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ts.Exec("batchctl", "logs", args[0]) == nil {
			for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
				if line == args[1] {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("job %s never logged %q", args[0], args[1])
		}
		time.Sleep(20 * time.Millisecond) // polling the real condition: the log
	}
}

// killSupervisorCmd SIGKILLs the process supervising a local job, as a crash
// or an OOM kill would, and returns once the kernel has released its lock:
// `killsupervisor NAME`. The pid is the one Submit wrote into the job's lock
// file under $XDG_STATE_HOME/batchctl/locks.
func killSupervisorCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: killsupervisor NAME")
	}
	ts.Check(ts.Exec("batchctl", "status", "-o", "json", args[0]))
	var st struct{ UID string }
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &st))
	lock := filepath.Join(ts.Getenv("XDG_STATE_HOME"), "batchctl", "locks", st.UID+".lock")
	b, err := os.ReadFile(lock)
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
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
