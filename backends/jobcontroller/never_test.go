package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// job_controller.go getRemainingTimeForFailuresCount: 10 s, doubling per
// failure since the last success, capped at 10 min, counted from the
// failed pod's finish.
func TestPodFailureBackoffSequence(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 9", "restartPolicy: Never"), Options{},
		always(effect{exit: 1, after: time.Second}))
	st := r.run()
	if got, want := outcome(st), `Failed "BackoffLimitExceeded" succeeded=0 failed=10 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s, want %s", got, want)
	}
	// Each pod runs 1 s, so creations are 1 s plus the delay apart.
	want := secs(11, 21, 41, 81, 161, 321, 601, 601, 601)
	if got := gaps(r.times("create")); !slices.Equal(got, want) {
		t.Errorf("pod creation gaps %v, want %v", got, want)
	}
	for i, a := range st.Attempts {
		if a.Attempt != int32(i) || a.Phase != "Failed" || *a.ExitCode != 1 || a.Reason != "Error" {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
}

func TestPodFailureBackoffResetsAfterSuccess(t *testing.T) {
	r := newRuntime(t, job("completions: 3", "restartPolicy: Never"), Options{},
		func(_ int32, _ string, n int) effect {
			if n == 1 {
				return effect{exit: 0, after: time.Second}
			}
			return effect{exit: 1, after: time.Second}
		})
	r.runUntil(30 * time.Second)
	// 0 fails at 1s; 1 at 11s succeeds at 12s: 2 starts at once, fails at
	// 13s and counts as the first failure again: 3 at 23s.
	if got, want := r.times("create"), secs(0, 11, 12, 23); !slices.Equal(got, want) {
		t.Errorf("creations at %v, want %v\n%s", got, want, r.logString())
	}
}

func TestNextRetryShowsHeldBackPod(t *testing.T) {
	r := newRuntime(t, job("", "restartPolicy: Never"), Options{}, always(effect{exit: 1, after: 2 * time.Second}))
	r.runUntil(5 * time.Second)
	st := r.m.Status()
	if st.NextRetry == nil || !st.NextRetry.Equal(t0.Add(12*time.Second)) {
		t.Fatalf("NextRetry %v, want 12s", st.NextRetry)
	}
	if st.Phase != "Running" || st.Active != 0 || st.Failed != 1 {
		t.Errorf("status %s active=%d failed=%d", st.Phase, st.Active, st.Failed)
	}
}

func TestBackoffLimitNeverCountsFailedPods(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 2\ncompletions: 2\nparallelism: 2", "restartPolicy: Never"), Options{PodBackoff: NoDelay},
		always(effect{exit: 3, after: time.Second}))
	st := r.run()
	// failed > backoffLimit: the third failure ends it, and the pod still
	// running is deleted and counted as failed too (trackJobStatusAndRemoveFinalizers).
	if got, want := outcome(st), `Failed "BackoffLimitExceeded" succeeded=0 failed=4 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s, want %s\n%s", got, want, r.logString())
	}
	if got := conditionTypes(st); got != "FailureTarget=True/BackoffLimitExceeded Failed=True/BackoffLimitExceeded" {
		t.Errorf("conditions %s", got)
	}
	if st.Message != "Job has reached the specified backoff limit" {
		t.Errorf("message %q", st.Message)
	}
}

func TestSuccessNonIndexed(t *testing.T) {
	r := newRuntime(t, job("completions: 3\nparallelism: 2", "restartPolicy: Never"), Options{},
		always(effect{exit: 0, after: time.Second}))
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=3 failed=0 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s, want %s", got, want)
	}
	if got := conditionTypes(st); got != "SuccessCriteriaMet=True/CompletionsReached Complete=True/CompletionsReached" {
		t.Errorf("conditions %s", got)
	}
	if st.CompletionTime == nil || !st.CompletionTime.Equal(t0.Add(2*time.Second)) {
		t.Errorf("completion time %v", st.CompletionTime)
	}
	if got, want := r.times("create"), secs(0, 0, 1); !slices.Equal(got, want) {
		t.Errorf("creations %v, want %v", got, want)
	}
	var reasons []string
	for _, e := range st.Events {
		if e.Object == "Job/j" {
			reasons = append(reasons, e.Reason+": "+e.Message)
		}
	}
	want := []string{"SuccessfulCreate: Created pod: j-bbbbb", "SuccessfulCreate: Created pod: j-bbbbc",
		"SuccessfulCreate: Created pod: j-bbbbd", "Completed: Job completed"}
	if !slices.Equal(reasons, want) {
		t.Errorf("job events %q, want %q", reasons, want)
	}
}

func TestInitContainersRunInOrderAndFailThePod(t *testing.T) {
	spec := `restartPolicy: Never
initContainers: [{name: a, image: busybox}, {name: b, image: busybox}]
containers: [{name: main, image: busybox}]`
	r := newRuntime(t, job("backoffLimit: 0", spec), Options{}, func(_ int32, c string, _ int) effect {
		if c == "b" {
			return effect{exit: 2, after: time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	want := []string{"0s create j-bbbbb", "0s start j-bbbbb/a", "1s exit j-bbbbb/a 0", "1s start j-bbbbb/b", "2s exit j-bbbbb/b 2"}
	if !slices.Equal(r.log, want) {
		t.Errorf("log:\n%s", r.logString())
	}
	if got := outcome(st); got != `Failed "BackoffLimitExceeded" succeeded=0 failed=1 completed="" failedIndexes=""` {
		t.Errorf("outcome %s", got)
	}
	if a := st.Attempts[0]; *a.ExitCode != 2 || a.Phase != "Failed" {
		t.Errorf("attempt %+v", a)
	}
}

func TestStartErrorFailsThePod(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 0", "restartPolicy: Never"), Options{},
		always(effect{exit: 128, reason: "StartError"}))
	st := r.run()
	if a := st.Attempts[0]; *a.ExitCode != 128 || a.Reason != "StartError" || a.Phase != "Failed" {
		t.Errorf("attempt %+v", a)
	}
}
