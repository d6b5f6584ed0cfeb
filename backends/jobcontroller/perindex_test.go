package jobcontroller

import (
	"slices"
	"testing"
	"time"
)

// backoffLimitPerIndex: an index fails once its pod whose
// job-index-failure-count reached the limit fails; its own backoff counts
// that index's failures; the job fails with FailedIndexes when every index
// ended.
func TestBackoffLimitPerIndex(t *testing.T) {
	spec := `completionMode: Indexed
completions: 3
parallelism: 3
backoffLimitPerIndex: 1`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(ix int32, _ string, _ int) effect {
		if ix == 1 {
			return effect{exit: 1, after: time.Second}
		}
		return effect{exit: 0, after: 30 * time.Second}
	})
	r.runUntil(5 * time.Second)
	// The failed pod is kept, uncounted, until its replacement exists
	// (getPodsWithDelayedDeletionPerIndex).
	if st := r.m.Status(); st.Failed != 0 || st.NextRetry == nil || !st.NextRetry.Equal(t0.Add(11*time.Second)) {
		t.Fatalf("at 5s: failed=%d next retry %v", st.Failed, st.NextRetry)
	}
	r.runUntil(11 * time.Second)
	if st := r.m.Status(); st.Failed != 1 {
		t.Fatalf("at 11s: failed=%d", st.Failed)
	}
	st := r.run()
	if got, want := outcome(st), `Failed "FailedIndexes" succeeded=2 failed=2 completed="0,2" failedIndexes="1"`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if got := r.times("create"); !slices.Equal(got, secs(0, 0, 0, 11)) {
		t.Errorf("creations %v", got)
	}
	var attempts []int32
	for _, a := range st.Attempts {
		if *a.Index == 1 {
			attempts = append(attempts, a.Attempt)
		}
	}
	if !slices.Equal(attempts, []int32{0, 1}) {
		t.Errorf("index 1 attempts %v", attempts)
	}
}

func TestMaxFailedIndexesExceeded(t *testing.T) {
	spec := `completionMode: Indexed
completions: 4
parallelism: 2
backoffLimitPerIndex: 0
maxFailedIndexes: 1`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(ix int32, _ string, _ int) effect {
		if ix < 2 {
			return effect{exit: 1, after: time.Duration(ix+1) * time.Second}
		}
		return effect{hang: true}
	})
	st := r.run()
	// 0 fails at 1s (one failed index: allowed), 2 starts; 1 fails at 2s:
	// two failed indexes > 1; the running pod of index 2 is counted failed.
	if got, want := outcome(st), `Failed "MaxFailedIndexesExceeded" succeeded=0 failed=3 completed="" failedIndexes="0,1"`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	if st.Message != "Job has exceeded the specified maximal number of failed indexes" {
		t.Errorf("message %q", st.Message)
	}
}

// With backoffLimitPerIndex, backoffLimit defaults to MaxInt32 and each
// index has its own backoff; but manageJob only considers the lowest pending
// indexes (firstPendingIndexes, then getPodCreationInfoForIndependentIndexes),
// so an index backing off holds up higher ones when parallelism is full.
func TestPerIndexBackoffBlocksHigherIndexes(t *testing.T) {
	spec := `completionMode: Indexed
completions: 2
parallelism: 1
backoffLimitPerIndex: 5`
	r := newRuntime(t, job(spec, "restartPolicy: Never"), Options{}, func(ix int32, _ string, n int) effect {
		if ix == 0 && n < 2 {
			return effect{exit: 1, after: time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	if got, want := outcome(st), `Succeeded "" succeeded=2 failed=2 completed="0,1" failedIndexes=""`; got != want {
		t.Fatalf("outcome %s\n%s", got, r.logString())
	}
	// Index 0 fails at 1s and 12s, succeeds at 33s; only then index 1.
	if got := r.times("create"); !slices.Equal(got, secs(0, 11, 32, 33)) {
		t.Errorf("creations %v\n%s", got, r.logString())
	}
}
