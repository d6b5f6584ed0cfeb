package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// kuberuntime_manager.go doBackOff: no backoff entry before the first
// restart, so it is immediate; then 10 s from the exit, doubling at each
// restart up to MaxContainerBackOff (300 s).
func TestOnFailureRestartDelays(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 100", "restartPolicy: OnFailure"), Options{},
		always(effect{exit: 1, after: time.Second}))
	r.runUntil(2000 * time.Second)
	// A run lasts 1 s, so starts are 1 s plus the delay apart.
	want := secs(1, 11, 21, 41, 81, 161, 301, 301)
	if got := gaps(r.times("start")); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("start gaps %v, want %v", got, want)
	}
	st := r.m.Status()
	if len(r.times("create")) != 1 || st.Phase != "Running" || st.Failed != 0 {
		t.Errorf("one pod restarting in place: %s failed=%d creations=%v", st.Phase, st.Failed, r.times("create"))
	}
	if st.NextRetry == nil {
		t.Error("no NextRetry while a restart is held back")
	}
	if got := st.Attempts[3]; got.Attempt != 3 || got.Phase != "Failed" || *got.ExitCode != 1 || got.Pod != st.Pods[0].Name {
		t.Errorf("attempt 3: %+v", got)
	}
	var backOff int
	for _, e := range st.Events {
		if e.Reason == "BackOff" && e.Message == "Back-off restarting failed container main in pod j-bbbbb" {
			backOff++
		}
	}
	if backOff == 0 {
		t.Error("no BackOff event")
	}
}

// kubelet.go HasExpiredFunc: a run that ends more than 600 s after the
// restart that began it resets the backoff: the restart is immediate again.
func TestOnFailureRestartBackoffResets(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 100", "restartPolicy: OnFailure"), Options{},
		func(_ int32, _ string, n int) effect {
			if n == 2 {
				return effect{exit: 1, after: 700 * time.Second}
			}
			return effect{exit: 1, after: time.Second}
		})
	r.runUntil(730 * time.Second)
	// 0: 0-1s; 1: 1-2s; 2: 12-712s (long); 3: 712s at once; 4: 10 s after 713s.
	if got, want := r.times("start"), secs(0, 1, 12, 712, 723); !slices.Equal(got, want) {
		t.Errorf("starts %v, want %v", got, want)
	}
}

// job_controller.go pastBackoffLimitOnFailure: the restarts of pods still
// Pending or Running, summed, reach the limit at equality; the job fails as
// soon as the restart that reaches it happens, so that run starts and is
// stopped.
func TestOnFailureBackoffLimitCountsRestarts(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		starts []time.Duration
	}{
		{0, secs(0, 1)},     // backoffLimit 0: the first restart is one too many
		{1, secs(0, 1)},     // the first restart reaches 1
		{2, secs(0, 1, 12)}, // the second, after the 10 s backoff
	} {
		r := newRuntime(t, job("backoffLimit: "+itoa(tc.limit), "restartPolicy: OnFailure"), Options{},
			always(effect{exit: 1, after: time.Second}))
		st := r.run()
		if got := r.times("start"); !slices.Equal(got, tc.starts) {
			t.Errorf("limit %d: starts %v, want %v\n%s", tc.limit, got, tc.starts, r.logString())
		}
		// The deleted pod is the one failure counted.
		if got, want := outcome(st), `Failed "BackoffLimitExceeded" succeeded=0 failed=1 completed="" failedIndexes=""`; got != want {
			t.Errorf("limit %d: outcome %s", tc.limit, got)
		}
		if n := len(st.Attempts); n != len(tc.starts) {
			t.Errorf("limit %d: %d attempts", tc.limit, n)
		}
	}
}

func TestOnFailureSucceedsAfterRestart(t *testing.T) {
	r := newRuntime(t, job("", "restartPolicy: OnFailure"), Options{}, func(_ int32, _ string, n int) effect {
		if n < 2 {
			return effect{exit: 1, after: time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=1 failed=0 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s", got)
	}
	var phases []string
	for _, a := range st.Attempts {
		phases = append(phases, string(a.Phase))
	}
	if !slices.Equal(phases, []string{"Failed", "Failed", "Succeeded"}) {
		t.Errorf("attempt phases %v", phases)
	}
}

func TestOnFailureInitContainerRestarts(t *testing.T) {
	spec := `restartPolicy: OnFailure
initContainers: [{name: setup, image: busybox}]
containers: [{name: main, image: busybox}]`
	r := newRuntime(t, job("", spec), Options{}, func(_ int32, c string, n int) effect {
		if c == "setup" && n < 2 {
			return effect{exit: 1, after: time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	want := []string{"0s start j-bbbbb/setup", "1s start j-bbbbb/setup", "12s start j-bbbbb/setup", "13s start j-bbbbb/main"}
	var got []string
	for _, l := range r.log {
		if len(l) > 0 && contains(l, " start ") {
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("starts %q, want %q", got, want)
	}
	if st.Phase != "Succeeded" {
		t.Errorf("phase %s", st.Phase)
	}
}

// While a restart is held back the failed attempt is already closed, with
// its exit code; the next attempt appears with the restart.
func TestOnFailureAttemptsDuringBackoff(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 100", "restartPolicy: OnFailure"), Options{},
		always(effect{exit: 2, after: time.Second}))
	r.runUntil(5 * time.Second) // runs 0-1s, 1-2s; the next waits until 12s
	st := r.m.Status()
	if len(st.Attempts) != 2 {
		t.Fatalf("attempts %+v", st.Attempts)
	}
	for i, a := range st.Attempts {
		if a.Attempt != int32(i) || a.Phase != "Failed" || *a.ExitCode != 2 || !a.FinishTime.Equal(t0.Add(time.Duration(i+1)*time.Second)) {
			t.Errorf("attempt %d: %+v", i, a)
		}
	}
	if st.Pods[0].Phase != "Running" || st.Pods[0].Restarts != 1 {
		t.Errorf("pod %+v", st.Pods[0])
	}
}
