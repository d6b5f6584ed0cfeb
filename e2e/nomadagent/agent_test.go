//go:build unix

package nomadagent

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// agentFor starts an agent in a fresh work dir. Cleanup stops it, and removes
// the work dir only if Stop left nothing mounted (never t.TempDir's blind
// RemoveAll).
func agentFor(t *testing.T, persistent bool) *Agent {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		t.Skip(EnvBinary + " not set (make nomad-e2e builds Nomad and sets it)")
	}
	dir, err := os.MkdirTemp("", "batchctl-nomad-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	a, err := Start(ctx, Options{Binary: bin, WorkDir: dir, Logf: t.Logf, Persistent: persistent})
	if err != nil {
		t.Fatalf("%v\n(logs kept in %s)", err, dir)
	}
	t.Logf("TIMING start: %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range a.procs {
				t.Logf("%s log tail:\n%s", p.Name, tail(a.path(p.Name+".log"), 30))
			}
		}
		if err := a.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("logs kept in %s", dir)
		} else if RemoveAllSafe(dir) != nil {
			t.Errorf("left %s in place", dir)
		}
	})
	return a
}

// batchJob is a raw_exec batch job, no restarts, no reschedules.
func batchJob(id string, count int, command string, args ...string) map[string]any {
	config := map[string]any{"command": command}
	if len(args) > 0 {
		config["args"] = args
	}
	return map[string]any{"Job": map[string]any{
		"ID": id, "Type": "batch", "Datacenters": []string{"dc1"},
		"TaskGroups": []map[string]any{{
			"Name": "g", "Count": count,
			// The batch default delay is 15s; Interval must be >= 5s.
			"RestartPolicy":    map[string]any{"Attempts": 0, "Mode": "fail", "Delay": time.Second, "Interval": time.Hour},
			"ReschedulePolicy": map[string]any{"Attempts": 0, "Unlimited": false},
			"Tasks": []map[string]any{{
				"Name": "t", "Driver": "raw_exec",
				"Config": config,
			}},
		}},
	}}
}

type summary struct {
	Summary map[string]struct{ Queued, Starting, Running, Complete, Failed, Lost int }
}

// waitSummary long-polls the job summary (blocking queries, no sleep loop)
// until done(group "g") holds.
func waitSummary(t *testing.T, a *Agent, id string, done func(c, f, r int) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var index uint64
	for {
		var s summary
		next, err := a.Do(ctx, "GET", fmt.Sprintf("/v1/job/%s/summary?index=%d&wait=10s", id, index), nil, &s)
		if err != nil {
			t.Fatalf("summary of %s: %v", id, err)
		}
		g := s.Summary["g"]
		if done(g.Complete, g.Failed, g.Running) {
			t.Logf("summary %s: %+v", id, g)
			return
		}
		index = next
	}
}

// run registers job and waits until done holds for its group.
func run(t *testing.T, a *Agent, job map[string]any, done func(c, f, r int) bool) {
	t.Helper()
	id := job["Job"].(map[string]any)["ID"].(string)
	start := time.Now()
	if _, err := a.Do(context.Background(), "PUT", "/v1/jobs", job, nil); err != nil {
		t.Fatal(err)
	}
	waitSummary(t, a, id, done)
	t.Logf("TIMING job %s: %s", id, time.Since(start).Round(time.Millisecond))
}

type alloc struct {
	ID, ClientStatus string
	TaskStates       map[string]struct {
		Failed bool
		Events []struct {
			Type     string
			ExitCode int
		}
	}
}

func TestDevAgent(t *testing.T) {
	a := agentFor(t, false)
	ctx := context.Background()

	run(t, a, batchJob("ok", 3, "/bin/true"), func(c, f, r int) bool { return c == 3 })

	run(t, a, batchJob("bad", 1, "/bin/sh", "-c", "echo out-$NOMAD_ALLOC_INDEX; exit 3"),
		func(c, f, r int) bool { return f == 1 })
	allocs := failedWithExit3(t, a, "bad", 1)

	resp, err := httpClient.Get(a.Addr + "/v1/client/fs/logs/" + allocs[0].ID + "?task=t&type=stdout&plain=true&origin=start")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(out)) != "out-0" {
		t.Errorf("logs: %s %q", resp.Status, out)
	}

	// -dev keeps state in memory: after a restart the job is unknown and the
	// node is new, but the agent is usable.
	node := a.NodeID
	start := time.Now()
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING dev restart: %s", time.Since(start).Round(time.Millisecond))
	if _, err := a.Do(ctx, "GET", "/v1/job/ok", nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("job ok after -dev restart: %v (want 404)", err)
	}
	if a.NodeID == node {
		t.Errorf("node ID %s kept across -dev restart", node)
	}
	run(t, a, batchJob("again", 3, "/bin/true"), func(c, f, r int) bool { return c == 3 })
	stopClean(t, a)
}

// A persistent agent keeps jobs across Restart and its client reattaches to
// tasks that ran on while it was down: the outcome is not lost.
func TestPersistentRestart(t *testing.T) {
	a := agentFor(t, true)
	ctx := context.Background()
	run(t, a, batchJob("before", 3, "/bin/true"), func(c, f, r int) bool { return c == 3 })

	if _, err := a.Do(ctx, "PUT", "/v1/jobs", batchJob("during", 2, "/bin/sh", "-c", "sleep 4; exit 3"), nil); err != nil {
		t.Fatal(err)
	}
	waitSummary(t, a, "during", func(c, f, r int) bool { return r == 2 })
	node := a.NodeID
	start := time.Now()
	if err := a.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING persistent restart: %s", time.Since(start).Round(time.Millisecond))
	if a.NodeID != node {
		t.Errorf("node ID changed across restart: %s -> %s", node, a.NodeID)
	}
	waitSummary(t, a, "during", func(c, f, r int) bool { return f == 2 })
	failedWithExit3(t, a, "during", 2) // the exit code, not a lost task
	waitSummary(t, a, "before", func(c, f, r int) bool { return c == 3 })

	// The task exits while both agents are down; its executor keeps the
	// exit code for the restarted client.
	mark := a.path("exited")
	script := fmt.Sprintf("sleep 1; touch %s; exit 3", mark)
	if _, err := a.Do(ctx, "PUT", "/v1/jobs", batchJob("down", 1, "/bin/sh", "-c", script), nil); err != nil {
		t.Fatal(err)
	}
	waitSummary(t, a, "down", func(c, f, r int) bool { return r == 1 })
	if err := a.terminate(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(mark); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("task did not exit while the agent was down")
		}
	}
	if err := a.launch(ctx); err != nil {
		t.Fatal(err)
	}
	waitSummary(t, a, "down", func(c, f, r int) bool { return f == 1 })
	failedWithExit3(t, a, "down", 1)
	stopClean(t, a)
}

// failedWithExit3 checks that job id has n failed allocations whose task
// events record exit code 3.
func failedWithExit3(t *testing.T, a *Agent, id string, n int) []alloc {
	t.Helper()
	var allocs []alloc
	if _, err := a.Do(context.Background(), "GET", "/v1/job/"+id+"/allocations", nil, &allocs); err != nil {
		t.Fatal(err)
	}
	if len(allocs) != n {
		t.Fatalf("%s: %d allocations, want %d", id, len(allocs), n)
	}
	for _, al := range allocs {
		exit := -1
		for _, e := range al.TaskStates["t"].Events {
			if e.Type == "Terminated" {
				exit = e.ExitCode
			}
		}
		if al.ClientStatus != "failed" || exit != 3 {
			t.Errorf("%s alloc %s: %s, exit code %d from task events, want failed, 3: %+v", id, al.ID, al.ClientStatus, exit, al.TaskStates)
		}
	}
	return allocs
}

// stopClean stops the agent and checks that no process of it and no mount
// under its work dir is left.
func stopClean(t *testing.T, a *Agent) {
	t.Helper()
	start := time.Now()
	if err := a.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("TIMING stop: %s", time.Since(start).Round(time.Millisecond))
	if a.Running() {
		t.Errorf("agent pids %v still running", a.PIDs())
	}
	if pids := markedProcesses(a.opts.WorkDir); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
	if m, err := mountsUnder(a.opts.WorkDir); err != nil || len(m) > 0 {
		t.Errorf("mounts left: %v %v", m, err)
	}
	if _, err := os.Stat(a.path("state")); !os.IsNotExist(err) {
		t.Errorf("state dir not removed: %v", err)
	}
}
