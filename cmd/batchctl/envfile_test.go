package main

import (
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() { scriptCmds["envfile"] = envFileCmd }

// envFileCmd sets a variable to a file's first line, so that a name a
// command printed becomes an argument without a shell:
// `envfile RUN stdout`, then `exec batchctl wait $RUN`.
func envFileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile NAME FILE")
	}
	line, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
	ts.Setenv(args[0], strings.TrimSpace(line))
}

func init() { scriptCmds["expand"] = expandCmd }

// expandCmd replaces $VAR and ${VAR} in a file with the script's variables,
// for files whose content depends on the test's platform (a socket path).
func expandCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: expand FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o600))
}
