package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// job_controller.go pastActiveDeadline: counted from status.startTime; the
// active pods are deleted and counted as failed, and Failed waits for them
// to stop (FailureTarget first).
func TestJobDeadline(t *testing.T) {
	r := newRuntime(t, job("activeDeadlineSeconds: 10", "restartPolicy: Never"), Options{},
		always(effect{hang: true}))
	r.runUntil(10*time.Second - 1)
	if st := r.m.Status(); st.Phase != "Running" || len(st.Conditions) != 0 {
		t.Fatalf("before the deadline: %s %s", st.Phase, conditionTypes(st))
	}
	st := r.run()
	if got, want := outcome(st), `Failed "DeadlineExceeded" succeeded=0 failed=1 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s", got)
	}
	if st.Message != "Job was active longer than specified deadline" {
		t.Errorf("message %q", st.Message)
	}
	want := []string{"0s create j-bbbbb", "0s start j-bbbbb/main", "10s stop j-bbbbb grace 30s",
		"10s exit j-bbbbb/main 143", "10s terminated j-bbbbb", "10s remove j-bbbbb"}
	if !slices.Equal(r.log, want) {
		t.Errorf("log:\n%s", r.logString())
	}
	if !hasEvent(st, "Warning", "DeadlineExceeded", "Job was active longer than specified deadline") ||
		!hasEvent(st, "Normal", "SuccessfulDelete", "Deleted pod: j-bbbbb") {
		t.Errorf("events %+v", st.Events)
	}
}

// Graceful stop: SIGTERM, then SIGKILL after terminationGracePeriodSeconds;
// the job's Failed condition waits for the pod to be gone.
func TestGraceThenKill(t *testing.T) {
	r := newRuntime(t, job("activeDeadlineSeconds: 3", "restartPolicy: Never\nterminationGracePeriodSeconds: 7"), Options{},
		always(effect{hang: true, ignoreSigterm: true}))
	r.runUntil(9 * time.Second)
	if st := r.m.Status(); st.Phase != "Running" || st.Terminating != 1 || st.Active != 0 || conditionTypes(st) != "FailureTarget=True/DeadlineExceeded" {
		t.Fatalf("while stopping: %s terminating=%d active=%d %s", st.Phase, st.Terminating, st.Active, conditionTypes(st))
	}
	st := r.run()
	if got := r.times("kill"); !slices.Equal(got, secs(10)) {
		t.Errorf("killed at %v, want 10s", got)
	}
	if c := st.Conditions[1]; !c.LastTransitionTime.Time.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("Failed at %v", c.LastTransitionTime)
	}
	if a := st.Attempts[0]; *a.ExitCode != 137 || a.Phase != "Failed" {
		t.Errorf("attempt %+v", a)
	}
}

// kuberuntime_container.go killContainer: at least 2 s, whatever the spec.
func TestZeroGraceIsTwoSeconds(t *testing.T) {
	r := newRuntime(t, job("activeDeadlineSeconds: 1", "restartPolicy: Never\nterminationGracePeriodSeconds: 0"), Options{},
		always(effect{hang: true, ignoreSigterm: true}))
	r.run()
	if got := r.times("kill"); !slices.Equal(got, secs(3)) {
		t.Errorf("killed at %v, want 3s\n%s", got, r.logString())
	}
}

// active_deadline.go: the kubelet fails the pod (reason DeadlineExceeded)
// and stops it; the controller then counts a failed pod.
func TestPodDeadline(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 1", "restartPolicy: Never\nactiveDeadlineSeconds: 5"), Options{},
		always(effect{hang: true}))
	st := r.run()
	if got, want := outcome(st), `Failed "BackoffLimitExceeded" succeeded=0 failed=2 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s", got)
	}
	// The replacement waits the 10 s backoff from the first pod's end.
	if got := r.times("create"); !slices.Equal(got, secs(0, 15)) {
		t.Errorf("creations %v", got)
	}
	for _, a := range st.Attempts {
		if a.Reason != "DeadlineExceeded" || a.Phase != "Failed" || *a.ExitCode != 143 {
			t.Errorf("attempt %+v", a)
		}
	}
	if st.Pods[0].Deleted || st.Pods[0].Reason != "DeadlineExceeded" {
		t.Errorf("pod %+v: the kubelet fails it, nobody deletes it", st.Pods[0])
	}
	if !hasEvent(st, "Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline") {
		t.Error("no pod DeadlineExceeded event")
	}
}

// The pod deadline counts while init containers run, and in OnFailure
// backoff.
func TestPodDeadlineOnFailure(t *testing.T) {
	r := newRuntime(t, job("backoffLimit: 100", "restartPolicy: OnFailure\nactiveDeadlineSeconds: 20"), Options{},
		func(_ int32, _ string, n int) effect {
			if n < 3 {
				return effect{exit: 1, after: time.Second}
			}
			return effect{exit: 0, after: time.Second}
		})
	r.runUntil(21 * time.Second)
	// 0-1, 1-2, 12-13, then the 20 s backoff runs past the deadline.
	st := r.m.Status()
	if st.Pods[0].Phase != "Failed" || st.Pods[0].Reason != "DeadlineExceeded" || st.Failed != 1 {
		t.Errorf("pod %+v, failed=%d\n%s", st.Pods[0], st.Failed, r.logString())
	}
}

func hasEvent(st Status, typ, reason, msg string) bool {
	for _, e := range st.Events {
		if e.Type == typ && e.Reason == reason && e.Message == msg {
			return true
		}
	}
	return false
}
