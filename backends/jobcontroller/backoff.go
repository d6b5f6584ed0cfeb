package jobcontroller

import (
	"slices"
	"time"
)

// backoffRecord is backoff_utils.go's: consecutive pod failures since the
// last success, and when the latest of them finished.
type backoffRecord struct {
	failures    int32
	lastFailure time.Time // zero: none
}

// next is backoffStore.newBackoffRecord: the record after the pods that
// finished since the last sync.
func (r backoffRecord) next(succeeded, failed []*pod) backoffRecord {
	byFinish := func(ps []*pod) []time.Time {
		ts := make([]time.Time, len(ps))
		for i, p := range ps {
			ts[i] = p.finishedTime()
		}
		slices.SortStableFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		return ts
	}
	s, f := byFinish(succeeded), byFinish(failed)
	switch {
	case len(s) == 0 && len(f) == 0:
		return r
	case len(s) == 0:
		return backoffRecord{r.failures + int32(len(f)), f[len(f)-1]}
	}
	// A success resets the count; only failures after it count.
	out := backoffRecord{}
	lastSuccess := s[len(s)-1]
	for i := len(f) - 1; i >= 0 && f[i].After(lastSuccess); i-- {
		if out.lastFailure.IsZero() {
			out.lastFailure = f[i]
		}
		out.failures++
	}
	return out
}

// remaining is getRemainingTimeForFailuresCount: how long pod creation is
// still held back at now.
func remaining(failures int32, lastFailure, now time.Time, base, limit time.Duration) time.Duration {
	if failures == 0 {
		return 0
	}
	d := base
	for i := int32(1); i < failures; i++ {
		d *= 2
		if d >= limit {
			d = limit
			break
		}
	}
	if d > limit { // only when base > limit
		d = limit
	}
	elapsed := now.Sub(lastFailure)
	if d < elapsed {
		return 0
	}
	return d - elapsed
}
