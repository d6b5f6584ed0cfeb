package jobcontroller

import (
	"testing"
	"time"
)

// success_policy.go: SuccessCriteriaMet (reason SuccessPolicy) as soon as
// a rule is met; the other pods are deleted and counted neither way; then
// Complete, with the same reason, once they stopped.
func TestSuccessPolicySucceededIndexes(t *testing.T) {
	spec := `completionMode: Indexed
completions: 5
parallelism: 5
successPolicy:
  rules:
  - succeededIndexes: "0"`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(ix int32, _ string, _ int) effect {
		if ix == 0 {
			return effect{exit: 0, after: time.Second}
		}
		return effect{hang: true, ignoreSigterm: true}
	})
	r.runUntil(5 * time.Second)
	if st := r.m.Status(); st.Phase != "Running" || st.Terminating != 4 || conditionTypes(st) != "SuccessCriteriaMet=True/SuccessPolicy" {
		t.Fatalf("while stopping: %s terminating=%d %s", st.Phase, st.Terminating, conditionTypes(st))
	}
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=1 failed=0 completed="0" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s", got)
	}
	if got := conditionTypes(st); got != "SuccessCriteriaMet=True/SuccessPolicy Complete=True/SuccessPolicy" {
		t.Errorf("conditions %s", got)
	}
	if c := st.Conditions[1]; c.Message != "Matched rules at index 0" || !c.LastTransitionTime.Time.Equal(t0.Add(31*time.Second)) {
		t.Errorf("Complete: %q at %v", c.Message, c.LastTransitionTime)
	}
	if st.Reason != "" || st.CompletionTime == nil {
		t.Errorf("reason %q completion %v", st.Reason, st.CompletionTime)
	}
}

func TestSuccessPolicySucceededCount(t *testing.T) {
	spec := `completionMode: Indexed
completions: 6
parallelism: 3
successPolicy:
  rules:
  - succeededIndexes: "3-5"
    succeededCount: 3
  - succeededCount: 2`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(ix int32, _ string, _ int) effect {
		if ix < 2 {
			return effect{exit: 0, after: time.Duration(ix+1) * time.Second}
		}
		return effect{hang: true}
	})
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=2 failed=0 completed="0,1" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if st.Conditions[0].Message != "Matched rules at index 1" {
		t.Errorf("message %q", st.Conditions[0].Message)
	}
}

func TestMatchSucceededIndexes(t *testing.T) {
	req := parseIntervals("1,3-5", 10)
	for _, tc := range []struct {
		done  string
		count *int32
		want  bool
	}{
		{"1,3-5", nil, true},
		{"0-9", nil, true},
		{"1,3,4", nil, false},
		{"1,3,4", ptr[int32](3), true},
		{"3-5", ptr[int32](4), false},
	} {
		if got := matchSucceededIndexes(req, parseIntervals(tc.done, 10), tc.count); got != tc.want {
			t.Errorf("%s count %v: %v", tc.done, tc.count, got)
		}
	}
}

func ptr[T any](v T) *T { return &v }
