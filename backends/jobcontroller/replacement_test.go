package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// isPodFailed: under TerminatingOrFailed (the default without a pod
// failure policy) a deleted pod counts as failed at once and its
// replacement does not wait for it to stop; under Failed it waits for the
// pod to be Failed, and terminating pods hold their place.
func TestPodReplacementPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy    string
		creations []time.Duration
	}{
		// Evicted through the API at 1s; stopping takes the 30 s grace.
		{"TerminatingOrFailed", secs(0, 11)}, // 10 s backoff from the deletion
		{"Failed", secs(0, 41)},              // Failed at 31s, then 10 s
	} {
		r := newRuntime(t, job("podReplacementPolicy: "+tc.policy, "restartPolicy: Never"), Options{},
			func(_ int32, _ string, n int) effect {
				if n == 0 {
					return effect{evictAfter: time.Second, disrupt: "EvictionByEvictionAPI", ignoreSigterm: true}
				}
				return effect{exit: 0, after: 100 * time.Second}
			})
		r.runUntil(20 * time.Second)
		st := r.m.Status()
		if st.Terminating != 1 {
			t.Errorf("%s: terminating %d", tc.policy, st.Terminating)
		}
		st = r.run()
		if got := r.times("create"); !slices.Equal(got, tc.creations) {
			t.Errorf("%s: creations %v, want %v\n%s", tc.policy, got, tc.creations, r.logString())
		}
		if got := outcome(st); got != `Succeeded "" succeeded=1 failed=1 completed="" failedIndexes=""` {
			t.Errorf("%s: outcome %s", tc.policy, got)
		}
		if !st.Pods[0].Deleted {
			t.Errorf("%s: the evicted pod is deleted", tc.policy)
		}
	}
}

// Completions unset, parallelism > 1: every pod starts; once one succeeded
// no new pod starts and the job completes when all ended; failures still
// count.
func TestWorkQueue(t *testing.T) {
	r := newRuntime(t, job("parallelism: 3", "restartPolicy: Never"), Options{}, func(_ int32, _ string, n int) effect {
		switch n {
		case 0:
			return effect{exit: 1, after: time.Second}
		case 1:
			return effect{exit: 0, after: 20 * time.Second}
		}
		return effect{exit: 1, after: 30 * time.Second}
	})
	st := r.run()
	// 0 fails at 1s and is replaced at 11s; 1 succeeds at 20s; the others
	// fail later (30s, 41s) and are not replaced.
	if got, want := outcome(st), `Succeeded "" succeeded=1 failed=3 completed="" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if got := r.times("create"); !slices.Equal(got, secs(0, 0, 0, 11)) {
		t.Errorf("creations %v", got)
	}
	if !st.CompletionTime.Equal(t0.Add(41 * time.Second)) {
		t.Errorf("completed at %v", st.CompletionTime.Sub(t0))
	}
}
