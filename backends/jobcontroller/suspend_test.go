package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// manageJob when suspended: deleteJobPods drops the tracking finalizer
// first, so the stopped pods count neither as failed nor succeeded. With
// MutableSchedulingDirectivesForSuspendedJobs (beta, on in 1.36) suspending
// clears startTime; resuming sets it anew, so the deadline counts from the
// resume.
func TestSuspendResume(t *testing.T) {
	r := newRuntime(t, job("activeDeadlineSeconds: 10", "restartPolicy: Never"), Options{}, always(effect{hang: true}))
	r.at(5*time.Second, func() { r.m.Suspend(r.now) })
	r.at(20*time.Second, func() { r.m.Resume(r.now) })
	r.runUntil(19 * time.Second)
	st := r.m.Status()
	if st.Phase != "Pending" || st.Reason != "Suspended" || st.Message != "Job suspended" || st.StartTime != nil || st.Failed != 0 || st.Active != 0 {
		t.Fatalf("suspended: %s %q %q start=%v failed=%d active=%d", st.Phase, st.Reason, st.Message, st.StartTime, st.Failed, st.Active)
	}
	if got := conditionTypes(st); got != "Suspended=True/JobSuspended" {
		t.Errorf("conditions %s", got)
	}
	r.runUntil(20 * time.Second)
	st = r.m.Status()
	if st.Phase != "Running" || st.StartTime == nil || !st.StartTime.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("resumed: %s start=%v", st.Phase, st.StartTime)
	}
	if got := conditionTypes(st); got != "Suspended=False/JobResumed" {
		t.Errorf("conditions %s", got)
	}
	st = r.run()
	if got, want := outcome(st), `Failed "DeadlineExceeded" succeeded=0 failed=1 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if got := r.times("stop"); !slices.Equal(got, secs(5, 30)) {
		t.Errorf("stops %v, want 5s (suspend) and 30s (deadline from the resume)", got)
	}
	for _, ev := range [][2]string{{"Suspended", "Job suspended"}, {"Resumed", "Job resumed"}} {
		if !hasEvent(st, "Normal", ev[0], ev[1]) {
			t.Errorf("no %s event", ev[0])
		}
	}
	if !st.Pods[0].Deleted || st.Pods[0].Phase != "Failed" {
		t.Errorf("suspended pod %+v", st.Pods[0])
	}
}

func TestCreatedSuspended(t *testing.T) {
	r := newRuntime(t, job("suspend: true\nactiveDeadlineSeconds: 5", "restartPolicy: Never"), Options{}, always(effect{exit: 0}))
	r.runUntil(time.Hour)
	st := r.m.Status()
	if len(r.log) != 0 || st.Phase != "Pending" || st.Reason != "Suspended" || st.StartTime != nil {
		t.Fatalf("%s %q start=%v log %v", st.Phase, st.Reason, st.StartTime, r.log)
	}
	if _, ok := r.m.NextTimer(); ok {
		t.Error("a suspended job has no timer")
	}
	r.m.Resume(t0.Add(time.Hour))
	r.drain()
	st = r.run()
	if got := outcome(st); got != `Succeeded "" succeeded=1 failed=0 completed="" failedIndexes=""` {
		t.Errorf("outcome %s", got)
	}
}

// Suspending an Indexed job frees its indexes; resuming starts them again
// (while the old pods still stop, under TerminatingOrFailed).
func TestSuspendIndexed(t *testing.T) {
	spec := `completionMode: Indexed
completions: 2
parallelism: 2`
	r := newRuntime(t, job(spec, "restartPolicy: Never\nterminationGracePeriodSeconds: 60"), Options{}, func(_ int32, _ string, n int) effect {
		if n == 0 {
			return effect{hang: true, ignoreSigterm: true}
		}
		return effect{exit: 0, after: time.Second}
	})
	r.at(5*time.Second, func() { r.m.Suspend(r.now) })
	r.at(10*time.Second, func() { r.m.Resume(r.now) })
	r.runUntil(10 * time.Second)
	if st := r.m.Status(); st.Terminating != 2 || st.Active != 2 {
		t.Errorf("after resume: terminating=%d active=%d", st.Terminating, st.Active)
	}
	st := r.run()
	if got := outcome(st); got != `Succeeded "" succeeded=2 failed=0 completed="0,1" failedIndexes=""` {
		t.Errorf("outcome %s\n%s", got, r.logString())
	}
	// Complete waits for the suspended pods, killed at 65s.
	if !st.CompletionTime.Equal(t0.Add(65 * time.Second)) {
		t.Errorf("completed at %v", st.CompletionTime.Sub(t0))
	}
}

// Pods stopped by a suspend are gone from the API once stopped, so a
// FailJob rule cannot match their SIGTERM exit code.
func TestSuspendDoesNotTriggerFailJob(t *testing.T) {
	spec := `podFailurePolicy:
  rules:
  - action: FailJob
    onExitCodes: {operator: NotIn, values: [0]}`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(_ int32, _ string, n int) effect {
		if n == 0 {
			return effect{hang: true}
		}
		return effect{exit: 0, after: time.Second}
	})
	r.at(2*time.Second, func() { r.m.Suspend(r.now) })
	r.at(3*time.Second, func() { r.m.Resume(r.now) })
	st := r.run()
	if got := outcome(st); got != `Succeeded "" succeeded=1 failed=0 completed="" failedIndexes=""` {
		t.Errorf("outcome %s\n%s", got, r.logString())
	}
	// The suspended pod's attempt is kept but not counted in attempt numbers.
	if len(st.Attempts) != 2 || st.Attempts[1].Attempt != 0 || *st.Attempts[0].ExitCode != 143 {
		t.Errorf("attempts %+v", st.Attempts)
	}
}
