package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/local"
)

var update = flag.Bool("update", false, "rewrite testdata/script files with the actual stdout/stderr of cmp commands")

func TestMain(m *testing.M) {
	local.MaybeSupervise()
	testscript.Main(m, map[string]func(){"batchctl": main, "testjob": testjobMain})
}

// TestScripts runs testdata/script/*.txtar, named by subcommand. Scenarios
// for a real platform start with `[!k8s] skip` or `[!nomad] skip`: the
// platform is started once for the whole run when its binaries are built
// (see platforms_test.go), and its address reaches every script's env.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t))
}

func scriptParams(t *testing.T) testscript.Params {
	plat := startPlatforms(t)
	return testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Each script gets its own config and state: nothing from the
			// developer's machine leaks in, nothing leaks out.
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("BATCHCTL_LOCAL_BACKOFF", "10ms")
			env.Setenv("BATCHCTL_NOMAD_BACKOFF", "10ms")
			examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
			env.Setenv("EXAMPLES", examples)
			for k, v := range plat.env {
				env.Setenv(k, v)
			}
			state := filepath.Join(env.WorkDir, ".state", "batchctl")
			env.Defer(func() { deleteLocalJobs(t, state) })
			return err
		},
		Condition: plat.condition,
		Cmds:      scriptCmds,
	}
}

// scriptCmds are the scripts' own commands; platform-specific files add theirs.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"exitcode": exitcodeCmd,
	"waitfile": waitfileCmd,
	"now":      nowCmd,
}

// waitfileCmd waits until a file exists (a job's signal that it got so
// far), at most a minute: `waitfile printed`.
func waitfileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(time.Minute); !fileExists(path); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile: %s did not appear within a minute", args[0])
		}
	}
}

// nowCmd sets an environment variable to the current time, RFC 3339 with
// nanoseconds: `now T`.
func nowCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: now VAR")
	}
	ts.Setenv(args[0], time.Now().UTC().Format(time.RFC3339Nano))
}

// exitcodeCmd runs a program and asserts its exact exit code, keeping its
// stdout and stderr for the next assertions: `exitcode 4 batchctl status x`.
func exitcodeCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// deleteLocalJobs stops whatever local jobs a script left, passed or failed,
// so no supervisor outlives its test.
func deleteLocalJobs(t *testing.T, stateDir string) {
	b, err := local.Open(local.Options{StateDir: stateDir, Backoff: time.Millisecond}, io.Discard)
	if err != nil {
		return
	}
	defer b.Close()
	ctx := context.Background()
	// CronJobs first: their schedulers stop, and their Jobs go with them.
	if sch, ok := b.(backends.Scheduler); ok {
		crons, _ := sch.ListCronJobs(ctx, backends.ListOptions{AllNamespaces: true})
		for _, cj := range crons {
			if err := sch.DeleteCronJob(ctx, backends.Ref{Name: cj.Name, Namespace: cj.Namespace}); err != nil && !errors.Is(err, backends.ErrNotFound) {
				t.Errorf("cleanup: delete cronjob %s/%s: %v", cj.Namespace, cj.Name, err)
			}
		}
	}
	jobs, err := b.List(ctx, backends.ListOptions{AllNamespaces: true})
	if err != nil {
		return
	}
	for _, st := range jobs {
		if err := b.Delete(ctx, backends.Ref{Name: st.Name, Namespace: st.Namespace}); err != nil && !errors.Is(err, backends.ErrNotFound) {
			t.Errorf("cleanup: delete %s/%s: %v", st.Namespace, st.Name, err)
		}
	}
}
