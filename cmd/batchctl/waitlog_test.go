package main

import (
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["waitlog"] = waitLogCmd }

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
