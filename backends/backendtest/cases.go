package backendtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batchctl/batchctl/backends"
)

func testSucceeds(e *env) {
	st0, ref := e.submit(jobSpec{completions: 3, parallelism: 2, script: "echo done; sleep 0.2"})
	if st0.Phase.Terminal() || st0.Completions != 3 || st0.Parallelism != 2 {
		e.t.Errorf("Submit status: phase %s completions %d parallelism %d", st0.Phase, st0.Completions, st0.Parallelism)
	}
	var maxActive int32
	seen := e.wait(ref, func(st *backends.Status) bool {
		maxActive = max(maxActive, st.Active)
		return st.Phase.Terminal()
	})
	st := seen[len(seen)-1]
	expect(e.t, st, backends.Succeeded, "", 0, 3, 0)
	if st.Completions != 3 || st.Parallelism != 2 {
		e.t.Errorf("completions/parallelism = %d/%d, want 3/2", st.Completions, st.Parallelism)
	}
	if st.StartTime == nil || st.CompletionTime == nil {
		e.t.Errorf("start/completion time = %v/%v, want both set", st.StartTime, st.CompletionTime)
	}
	if st.Labels[backends.ManagedByLabel] != backends.ManagedByValue {
		e.t.Errorf("labels %v lack %s=%s", st.Labels, backends.ManagedByLabel, backends.ManagedByValue)
	}
	if !e.info.Capabilities.Parallelism {
		return
	}
	if maxActive > 2 {
		e.t.Errorf("watch saw %d active pods, parallelism is 2", maxActive)
	}
	atts := e.attempts(ref)
	if len(atts) != 3 {
		e.t.Errorf("%d attempts, want 3: %+v", len(atts), atts)
	}
	for _, a := range atts {
		if a.Phase != backends.Succeeded || a.ExitCode == nil || *a.ExitCode != 0 {
			e.t.Errorf("attempt %s: phase %s exit %v, want Succeeded 0", a.Pod, a.Phase, a.ExitCode)
		}
	}
	if n := maxOverlap(atts); n > 2 {
		e.t.Errorf("%d attempts ran at once, parallelism is 2", n)
	}
}

// maxOverlap is the most attempts running at one instant.
func maxOverlap(atts []backends.Attempt) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, a := range atts {
		if a.StartTime == nil || a.FinishTime == nil {
			return len(atts) // cannot tell: assume the worst
		}
		edges = append(edges, edge{*a.StartTime, +1}, edge{*a.FinishTime, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].delta < edges[j].delta // a finish frees its slot first
	})
	n, most := 0, 0
	for _, ed := range edges {
		n += ed.delta
		most = max(most, n)
	}
	return most
}

func testBackoffLimit(e *env) {
	_, ref := e.submit(jobSpec{backoffLimit: ptr[int32](1), script: "echo failing; exit 3", exitCode: 3})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Failed, backends.ReasonBackoffLimitExceeded, 0, 0, 2)
	if st.CompletionTime == nil {
		e.t.Error("a failed job has no completionTime; it is when the job finished, failed or not")
	}
	atts := e.attempts(ref)
	if len(atts) != 2 {
		e.t.Fatalf("%d attempts, want 2: %+v", len(atts), atts)
	}
	sortAttempts(atts)
	for i, a := range atts {
		if a.Phase != backends.Failed || a.ExitCode == nil || *a.ExitCode != 3 || a.Attempt != int32(i) {
			e.t.Errorf("attempt %d: %s #%d phase %s exit %v, want #%d Failed 3", i, a.Pod, a.Attempt, a.Phase, a.ExitCode, i)
		}
	}
	if atts[0].Pod == atts[1].Pod {
		e.t.Errorf("restartPolicy Never reused pod %s", atts[0].Pod)
	}
}

func testOnFailureRestartsInPlace(e *env) {
	e.need(e.info.Capabilities.RestartInPlace, "restartPolicy OnFailure restarts in place")
	_, ref := e.submit(jobSpec{restartPolicy: "OnFailure", backoffLimit: ptr[int32](2), script: "echo failing; exit 3", exitCode: 3})
	st, _ := e.finish(ref)
	// The restarted pod is one pod, counted failed once when the job gives up.
	expect(e.t, st, backends.Failed, backends.ReasonBackoffLimitExceeded, 0, 0, 1)
	atts := e.attempts(ref)
	if len(atts) < 2 {
		e.t.Fatalf("%d attempts, want restarts: %+v", len(atts), atts)
	}
	sortAttempts(atts)
	for i, a := range atts {
		if a.Pod != atts[0].Pod || a.Attempt != int32(i) {
			e.t.Errorf("attempt %d is %s #%d, want %s #%d (same pod)", i, a.Pod, a.Attempt, atts[0].Pod, i)
		}
	}
}

func testOnFailureRecovers(e *env) {
	e.need(e.info.Capabilities.RestartInPlace, "restartPolicy OnFailure restarts in place")
	e.need(e.opt.HostProcesses, "marker files shared with the test (HostProcesses)")
	marker := filepath.Join(e.t.TempDir(), "marker")
	_, ref := e.submit(jobSpec{
		restartPolicy: "OnFailure",
		backoffLimit:  ptr[int32](2),
		env:           [][2]string{{"MARKER", marker}},
		script:        `if [ -e "$MARKER" ]; then echo recovered; exit 0; fi; : > "$MARKER"; echo first; exit 3`,
	})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	atts := e.attempts(ref)
	if len(atts) != 2 {
		e.t.Fatalf("%d attempts, want 2: %+v", len(atts), atts)
	}
	sortAttempts(atts)
	a0, a1 := atts[0], atts[1]
	if a0.Pod != a1.Pod || a0.Attempt != 0 || a1.Attempt != 1 {
		e.t.Errorf("attempts %s #%d, %s #%d: want one pod, #0 then #1", a0.Pod, a0.Attempt, a1.Pod, a1.Attempt)
	}
	if a0.Phase != backends.Failed || a0.ExitCode == nil || *a0.ExitCode != 3 || a1.Phase != backends.Succeeded {
		e.t.Errorf("attempt phases %s (exit %v), %s: want Failed (3), Succeeded", a0.Phase, a0.ExitCode, a1.Phase)
	}
	got := map[string]int32{}
	for _, l := range e.logs(ref, backends.LogOptions{}) {
		got[l.text] = l.src.Attempt
	}
	if a, ok := got["first"]; !ok || a != 0 {
		e.t.Errorf("log line %q from attempt %d (found %v), want attempt 0", "first", a, ok)
	}
	if a, ok := got["recovered"]; !ok || a != 1 {
		e.t.Errorf("log line %q from attempt %d (found %v), want attempt 1", "recovered", a, ok)
	}
}

func testIndexed(e *env) {
	e.need(e.info.Capabilities.Indexed, "completionMode Indexed")
	_, ref := e.submit(jobSpec{completions: 3, parallelism: 3, indexed: true, script: `echo "index=$JOB_COMPLETION_INDEX"`})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 3, 0)
	if st.CompletionMode != "Indexed" || st.CompletedIndexes != "0-2" || st.FailedIndexes != "" {
		e.t.Errorf("completionMode %q, completedIndexes %q, failedIndexes %q; want Indexed, 0-2, none", st.CompletionMode, st.CompletedIndexes, st.FailedIndexes)
	}
	done := map[int32]int{}
	for _, a := range e.attempts(ref) {
		if a.Index == nil {
			e.t.Errorf("attempt %s has no index", a.Pod)
			continue
		}
		if a.Phase == backends.Succeeded {
			done[*a.Index]++
		}
	}
	for i := int32(0); i < 3; i++ {
		if done[i] != 1 {
			e.t.Errorf("index %d succeeded %d times, want once", i, done[i])
		}
	}
	if !e.executes {
		return
	}
	seen := map[int32]bool{}
	for _, l := range e.logs(ref, backends.LogOptions{}) {
		if l.src.Index == nil || l.text != fmt.Sprintf("index=%d", *l.src.Index) {
			e.t.Errorf("line %q from index %v, want index=<its index>", l.text, l.src.Index)
			continue
		}
		seen[*l.src.Index] = true
	}
	if len(seen) != 3 {
		e.t.Errorf("logs came from indexes %v, want 0, 1 and 2", seen)
	}
	one := int32(1)
	lines := e.logs(ref, backends.LogOptions{Index: &one})
	if len(lines) != 1 || lines[0].text != "index=1" {
		e.t.Errorf("logs of index 1: %+v, want the one line index=1", lines)
	}
}

func testDeadline(e *env) {
	e.need(e.info.Capabilities.Deadline, "activeDeadlineSeconds")
	start := time.Now()
	// The grace period is short: in a container, sleep is PID 1 and, as on
	// Kubernetes, SIGTERM does not end it; SIGKILL does, after the grace.
	_, ref := e.submit(jobSpec{deadline: 1, backoffLimit: ptr[int32](0), grace: ptr[int64](2), script: "sleep 30", duration: "30s"})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Failed, backends.ReasonDeadlineExceeded, 0, 0, 1)
	if d := time.Since(start); d >= 25*time.Second {
		e.t.Errorf("the deadline of 1s ended the job after %v", d)
	}
}

func testDeleteRunning(e *env) {
	pidFile := "/tmp/batchctl-backendtest.pid"
	if e.opt.HostProcesses {
		pidFile = filepath.Join(e.t.TempDir(), "pid")
	}
	// The shell's child shows that the whole pod goes, not just its leader.
	_, ref := e.submit(jobSpec{
		env:      [][2]string{{"PIDFILE", pidFile}},
		script:   `sleep 30 & echo $! > "$PIDFILE"; echo started; wait`,
		duration: "30s",
	})
	if e.executes {
		e.waitForLine(ref, "started")
	} else {
		e.wait(ref, func(st *backends.Status) bool { return st.Active > 0 || st.Phase.Terminal() })
	}
	if err := e.b.Delete(e.ctx, ref); err != nil {
		e.t.Fatalf("Delete: %v", err)
	}
	if _, err := e.b.Status(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Status after Delete: %v, want not found", err)
	}
	if err := e.b.Delete(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("second Delete: %v, want not found", err)
	}
	if !e.opt.HostProcesses {
		return
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		e.t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		e.t.Fatalf("pid file: %v", err)
	}
	e.eventually(5*time.Second, func() bool { return processGone(pid) }, fmt.Sprintf("process %d of the deleted job is still running", pid))
}

// waitForLine follows the job's logs until a line reads text.
func (e *env) waitForLine(ref backends.Ref, text string) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	found := false
	s := &sink{onLine: func(l logLine) {
		if l.text == text {
			found = true
			cancel()
		}
	}}
	err := e.b.Logs(ctx, ref, backends.LogOptions{Follow: true}, s)
	if !found {
		e.t.Fatalf("logs ended (%v) before the line %q; got %+v", err, text, s.lines)
	}
}

func (e *env) eventually(timeout time.Duration, cond func() bool, msg string) {
	e.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			e.t.Fatal(msg)
		}
	}
}

func testLogsOfEveryAttempt(e *env) {
	e.need(e.info.Capabilities.AttemptLogs, "logs of failed attempts")
	const text = "output of a failing attempt"
	_, ref := e.submit(jobSpec{backoffLimit: ptr[int32](2), script: "echo '" + text + "'; exit 3", exitCode: 3})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Failed, backends.ReasonBackoffLimitExceeded, 0, 0, 3)
	for _, follow := range []bool{false, true} {
		attempts := map[int32]int{}
		for _, l := range e.logs(ref, backends.LogOptions{Follow: follow}) {
			attempts[l.src.Attempt]++
			if e.executes && l.text != text {
				e.t.Errorf("line %q, want %q", l.text, text)
			}
		}
		if len(attempts) != 3 || attempts[0] != 1 || attempts[1] != 1 || attempts[2] != 1 {
			e.t.Errorf("follow=%v: lines per attempt %v, want one from each of attempts 0, 1, 2", follow, attempts)
		}
	}
}

// testLogTimes: a backend with Capabilities.LogTimes stamps every line
// with when it was written (within the job's run) and skips lines before
// Since; one without refuses both as invalid rather than guess.
func testLogTimes(e *env) {
	_, ref := e.submit(jobSpec{script: "echo stamped"})
	st, _ := e.finish(ref)
	expect(e.t, st, backends.Succeeded, "", 0, 1, 0)
	if !e.info.Capabilities.LogTimes {
		for _, opts := range []backends.LogOptions{{Times: true}, {Since: time.Now().Add(-time.Hour)}} {
			if err := e.b.Logs(e.ctx, ref, opts, &sink{}); !errors.Is(err, backends.ErrInvalid) {
				e.t.Errorf("Logs with Times %v, Since %v on a backend without LogTimes: %v, want invalid", opts.Times, opts.Since, err)
			}
		}
		return
	}
	lines := e.logs(ref, backends.LogOptions{Times: true})
	if len(lines) == 0 {
		e.t.Fatal("no log lines")
	}
	slack := 2 * time.Second // clocks of a remote platform
	for _, l := range lines {
		switch {
		case l.src.At.IsZero():
			e.t.Errorf("line %q has no time", l.text)
		case st.StartTime != nil && l.src.At.Before(st.StartTime.Add(-slack)),
			st.CompletionTime != nil && l.src.At.After(st.CompletionTime.Add(slack)):
			e.t.Errorf("line %q stamped %v, outside the job's run %v–%v", l.text, l.src.At, st.StartTime, st.CompletionTime)
		}
	}
	if later := e.logs(ref, backends.LogOptions{Since: time.Now().Add(time.Minute)}); len(later) != 0 {
		e.t.Errorf("Logs since a minute from now: %d lines, want none", len(later))
	}
	if all := e.logs(ref, backends.LogOptions{Since: time.Now().Add(-time.Hour)}); len(all) != len(lines) {
		e.t.Errorf("Logs since an hour ago: %d lines, want all %d", len(all), len(lines))
	}
}

func testNotFound(e *env) {
	ref := backends.Ref{Name: jobName(e.t, "missing"), Namespace: e.opt.Namespace}
	if _, err := e.b.Status(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Status: %v, want not found", err)
	}
	if err := e.b.Delete(e.ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Delete: %v, want not found", err)
	}
	if err := e.b.Logs(e.ctx, ref, backends.LogOptions{}, &sink{}); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Logs: %v, want not found", err)
	}
	called := false
	err := e.b.Watch(e.ctx, ref, func(*backends.Status) bool { called = true; return true })
	if !errors.Is(err, backends.ErrNotFound) || called {
		e.t.Errorf("Watch: %v (fn called: %v), want not found without a call", err, called)
	}
}

func testAlreadyExists(e *env) {
	spec := jobSpec{name: jobName(e.t, ""), script: "true"}
	first, ref := e.submit(spec)
	spec.namespace = e.opt.Namespace
	_, err := e.b.Submit(e.ctx, spec.parse(e.t))
	if !errors.Is(err, backends.ErrAlreadyExists) {
		e.t.Fatalf("second Submit: %v, want already exists", err)
	}
	if !strings.Contains(err.Error(), ref.Name) {
		e.t.Errorf("error %q does not name the job", err)
	}
	if st := e.status(ref); st.UID != first.UID {
		e.t.Errorf("job uid changed from %q to %q", first.UID, st.UID)
	}
}

func testGenerateName(e *env) {
	prefix := jobName(e.t, "") + "-"
	a, refA := e.submit(jobSpec{generateName: prefix, script: "true"})
	b, _ := e.submit(jobSpec{generateName: prefix, script: "true"})
	for _, st := range []*backends.Status{a, b} {
		if !strings.HasPrefix(st.Name, prefix) || len(st.Name) != len(prefix)+5 {
			e.t.Errorf("generated name %q, want %q and 5 characters", st.Name, prefix)
		}
	}
	if a.Name == b.Name {
		e.t.Errorf("two jobs were both named %q", a.Name)
	}
	if st, _ := e.finish(refA); st.Phase != backends.Succeeded || st.Name != a.Name {
		e.t.Errorf("job %s ended %s, want %s Succeeded", st.Name, st.Phase, a.Name)
	}
}

func testListByLabel(e *env) {
	base := jobName(e.t, "")
	e.submit(jobSpec{name: base + "-b", labels: map[string]string{"batchctl.dev/case": base, "role": "b"}, script: "true"})
	e.submit(jobSpec{name: base + "-a", labels: map[string]string{"batchctl.dev/case": base, "role": "a"}, script: "true"})
	list := func(sel string) []string {
		e.t.Helper()
		s, err := backends.ParseSelector(sel)
		if err != nil {
			e.t.Fatal(err)
		}
		sts, err := e.b.List(e.ctx, backends.ListOptions{Namespace: e.opt.Namespace, Selector: s})
		if err != nil {
			e.t.Fatalf("List %q: %v", sel, err)
		}
		var names []string
		for _, st := range sts {
			names = append(names, st.Name)
			if st.Labels[backends.ManagedByLabel] != backends.ManagedByValue {
				e.t.Errorf("listed job %s has labels %v, want %s=%s", st.Name, st.Labels, backends.ManagedByLabel, backends.ManagedByValue)
			}
		}
		return names
	}
	for sel, want := range map[string]string{
		"batchctl.dev/case=" + base + ",role=a":                                                base + "-a",
		"batchctl.dev/case=" + base + ",role!=a":                                               base + "-b",
		"batchctl.dev/case=" + base:                                                            base + "-a " + base + "-b",
		backends.ManagedByLabel + "=" + backends.ManagedByValue + ",batchctl.dev/case=" + base: base + "-a " + base + "-b",
		"batchctl.dev/case=" + base + ",!role":                                                 "",
		"batchctl.dev/case=" + base + ",role in (a,c)":                                         base + "-a",
		"batchctl.dev/case=" + base + ",role notin (a)":                                        base + "-b",
		"batchctl.dev/case in (" + base + ",other),role":                                       base + "-a " + base + "-b",
	} {
		if got := strings.Join(list(sel), " "); got != want {
			e.t.Errorf("List %q = [%s], want [%s]", sel, got, want)
		}
	}
}

func testWatchReachesTerminal(e *env) {
	_, ref := e.submit(jobSpec{script: "sleep 0.3", duration: "300ms"})
	order := map[backends.Phase]int{backends.Pending: 0, backends.Running: 1, backends.Succeeded: 2, backends.Failed: 2}
	var seen []*backends.Status
	err := e.b.Watch(e.ctx, ref, func(st *backends.Status) bool {
		if len(seen) > 0 && order[st.Phase] < order[seen[len(seen)-1].Phase] {
			e.t.Errorf("phase went back from %s to %s", seen[len(seen)-1].Phase, st.Phase)
		}
		seen = append(seen, st)
		return st.Phase.Terminal()
	})
	if err != nil {
		e.t.Fatalf("Watch: %v", err)
	}
	if last := seen[len(seen)-1]; last.Phase != backends.Succeeded {
		e.t.Errorf("Watch ended at %s, want Succeeded", last.Phase)
	}
	// On a finished job, Watch reports it once and returns.
	calls := 0
	err = e.b.Watch(e.ctx, ref, func(st *backends.Status) bool { calls++; return st.Phase.Terminal() })
	if err != nil || calls != 1 {
		e.t.Errorf("Watch of a finished job: %v after %d calls, want nil after 1", err, calls)
	}
}

func testTTL(e *env) {
	e.need(e.info.Capabilities.TTL, "ttlSecondsAfterFinished")
	_, ref := e.submit(jobSpec{ttl: ptr[int32](0), script: "true"})
	// The job may be gone by the time Watch looks again.
	err := e.b.Watch(e.ctx, ref, func(st *backends.Status) bool { return st.Phase.Terminal() })
	if err != nil && !errors.Is(err, backends.ErrNotFound) {
		e.t.Fatalf("Watch: %v", err)
	}
	e.eventually(30*time.Second, func() bool {
		_, err := e.b.Status(e.ctx, ref)
		return errors.Is(err, backends.ErrNotFound)
	}, "the finished job outlived ttlSecondsAfterFinished: 0")
	if err := e.b.Logs(e.ctx, ref, backends.LogOptions{}, &sink{}); !errors.Is(err, backends.ErrNotFound) {
		e.t.Errorf("Logs after the TTL: %v, want not found", err)
	}
}
