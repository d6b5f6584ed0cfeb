package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

const pfpNever = "restartPolicy: Never"

// pod_failure_policy.go matchPodFailurePolicy: FailJob's message names the
// container, the pod, the code and the rule's index.
func TestPodFailurePolicyFailJob(t *testing.T) {
	spec := `completions: 2
parallelism: 2
podFailurePolicy:
  rules:
  - action: Ignore
    onPodConditions: [{type: DisruptionTarget}]
  - action: FailJob
    onExitCodes: {containerName: main, operator: In, values: [42]}`
	r := newRuntime(t, job(spec, pfpNever), Options{}, func(ix int32, _ string, n int) effect {
		if n == 0 {
			return effect{exit: 42, after: time.Second}
		}
		return effect{hang: true}
	})
	st := r.run()
	if got, want := outcome(st), `Failed "PodFailurePolicy" succeeded=0 failed=2 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	want := "Container main for pod default/j-bbbbb failed with exit code 42 matching FailJob rule at index 1"
	if st.Message != want {
		t.Errorf("message %q, want %q", st.Message, want)
	}
	if got := conditionTypes(st); got != "FailureTarget=True/PodFailurePolicy Failed=True/PodFailurePolicy" {
		t.Errorf("conditions %s", got)
	}
}

// Ignore: the failure counts neither against backoffLimit nor in
// status.failed, but it does lengthen the pod failure backoff
// (newBackoffRecord takes every failed pod).
func TestPodFailurePolicyIgnoreDisruption(t *testing.T) {
	spec := `backoffLimit: 0
podFailurePolicy:
  rules:
  - action: Ignore
    onPodConditions: [{type: DisruptionTarget}]`
	r := newRuntime(t, job(spec, pfpNever), Options{}, func(_ int32, _ string, n int) effect {
		if n < 2 {
			return effect{evictAfter: 2 * time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=1 failed=0 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	// Evicted at 2s (stopped within the 2 s hard-eviction grace): 12s; at 14s: 34s.
	if got := r.times("create"); !slices.Equal(got, secs(0, 12, 34)) {
		t.Errorf("creations %v\n%s", got, r.logString())
	}
	p := st.Pods[0]
	if p.Phase != "Failed" || p.Reason != "Evicted" || p.Deleted {
		t.Errorf("evicted pod %+v", p)
	}
	if a := st.Attempts[0]; a.Reason != "Evicted" {
		t.Errorf("attempt %+v", a)
	}
}

// Count: counted as with no policy.
func TestPodFailurePolicyCount(t *testing.T) {
	spec := `backoffLimit: 1
podFailurePolicy:
  rules:
  - action: Count
    onExitCodes: {operator: NotIn, values: [0]}`
	r := newRuntime(t, job(spec, pfpNever), Options{PodBackoff: NoDelay}, always(effect{exit: 5, after: time.Second}))
	st := r.run()
	if got, want := outcome(st), `Failed "BackoffLimitExceeded" succeeded=0 failed=2 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s", got)
	}
}

// FailIndex fails the index at once, whatever backoffLimitPerIndex allows.
func TestPodFailurePolicyFailIndex(t *testing.T) {
	spec := `completionMode: Indexed
completions: 4
parallelism: 4
backoffLimitPerIndex: 3
podFailurePolicy:
  rules:
  - action: FailIndex
    onExitCodes: {operator: In, values: [7]}`
	r := newRuntime(t, job(spec, pfpNever), Options{}, func(ix int32, _ string, n int) effect {
		if ix == 1 {
			return effect{exit: 7, after: time.Second}
		}
		return effect{exit: 0, after: 2 * time.Second}
	})
	st := r.run()
	if got, want := outcome(st), `Failed "FailedIndexes" succeeded=3 failed=1 completed="0,2,3" failedIndexes="1"`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if st.Message != "Job has failed indexes" {
		t.Errorf("message %q", st.Message)
	}
	if n := len(r.times("create")); n != 4 {
		t.Errorf("%d pods, want 4 (no retry of index 1)", n)
	}
}

// onExitCodes looks at init containers too.
func TestPodFailurePolicyInitContainerExitCode(t *testing.T) {
	spec := `podFailurePolicy:
  rules:
  - action: FailJob
    onExitCodes: {containerName: setup, operator: In, values: [3]}`
	podSpec := `restartPolicy: Never
initContainers: [{name: setup, image: busybox}]
containers: [{name: main, image: busybox}]`
	r := newRuntime(t, job(spec, podSpec), Options{}, always(effect{exit: 3, after: time.Second}))
	st := r.run()
	if st.Reason != "PodFailurePolicy" || st.Message != "Container setup for pod default/j-bbbbb failed with exit code 3 matching FailJob rule at index 0" {
		t.Errorf("%s: %s", st.Reason, st.Message)
	}
}

// onPodConditions FailJob: "Pod ns/name has condition ...".
func TestPodFailurePolicyFailJobOnCondition(t *testing.T) {
	spec := `podFailurePolicy:
  rules:
  - action: FailJob
    onPodConditions: [{type: DisruptionTarget, status: "True"}]`
	r := newRuntime(t, job(spec, pfpNever), Options{}, always(effect{evictAfter: time.Second, disrupt: "EvictionByEvictionAPI"}))
	st := r.run()
	if got := st.Message; got != "Pod default/j-bbbbb has condition DisruptionTarget matching FailJob rule at index 0" {
		t.Errorf("message %q", got)
	}
	if st.Failed != 1 {
		t.Errorf("failed %d", st.Failed)
	}
}
