package main

import (
	"encoding/json"
	"strconv"
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

func init() { scriptCmds["waitstatus"] = waitStatusCmd }

// waitStatusCmd polls `batchctl status -o json NAME` until the JSON field
// FIELD reads VALUE (as JSON text: 1, "Running"): `waitstatus NAME failed 1`;
// a VALUE of ~ waits for any value but null.
func waitStatusCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitstatus NAME FIELD VALUE")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ts.Exec("batchctl", "status", "-o", "json", args[0]) == nil {
			var st map[string]json.RawMessage
			v, set := "", false
			if json.Unmarshal([]byte(ts.ReadFile("stdout")), &st) == nil {
				raw, ok := st[args[1]]
				v, set = strings.Trim(string(raw), `"`), ok && string(raw) != "null"
			}
			if set && (v == args[2] || args[2] == "~") {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("job %s: %s never read %s", args[0], args[1], args[2])
		}
		time.Sleep(20 * time.Millisecond) // polling the real condition: the status
	}
}

func init() { scriptCmds["linelen"] = lineLenCmd }

// lineLenCmd asserts that stdout holds a line of exactly N bytes (after any
// "[label] " prefix): a long line printed whole, not cut in pieces.
func lineLenCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: linelen N")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	var lens []int
	for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
		if i := strings.Index(line, "] "); strings.HasPrefix(line, "[") && i > 0 {
			line = line[i+2:]
		}
		if len(line) == n {
			return
		}
		if len(line) > 1000 {
			lens = append(lens, len(line))
		}
	}
	ts.Fatalf("no line of %d bytes in stdout; long lines: %v", n, lens)
}
