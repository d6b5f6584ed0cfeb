package jobcontroller

import (
	"reflect"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// A driver that keeps attempts and events piece by piece (PodAttempts,
// EventsSince) and takes Summary sees exactly what Status reports whole.
func TestIncrementalViewsAgreeWithStatus(t *testing.T) {
	r := newRuntime(t, job("completions: 3\nparallelism: 2\nbackoffLimit: 4", "restartPolicy: OnFailure"), Options{}, func(ix int32, _ string, n int) effect {
		if n < 3 {
			return effect{exit: 1, after: time.Second}
		}
		return effect{exit: 0, after: time.Second}
	})
	st := r.run()
	sum := r.m.Summary()
	if sum.Attempts != nil || sum.Events != nil || sum.Pods != nil {
		t.Errorf("Summary carries slices: %d attempts, %d events, %d pods", len(sum.Attempts), len(sum.Events), len(sum.Pods))
	}
	whole := st
	whole.Attempts, whole.Events, whole.Pods = nil, nil, nil
	if !reflect.DeepEqual(sum, whole) {
		t.Errorf("Summary differs from Status:\n%+v\n%+v", sum, whole)
	}
	var pieces []backends.Attempt
	for _, p := range st.Pods {
		pieces = append(pieces, r.m.PodAttempts(p.Name)...)
	}
	if len(pieces) == 0 || !reflect.DeepEqual(pieces, st.Attempts) {
		t.Errorf("PodAttempts pieces differ from Status.Attempts:\n%+v\n%+v", pieces, st.Attempts)
	}
	if r.m.PodAttempts("nosuch") != nil {
		t.Error("PodAttempts of an unknown pod")
	}
	events := append(r.m.EventsSince(0)[:2:2], r.m.EventsSince(2)...)
	if !reflect.DeepEqual(events, st.Events) || r.m.EventsSince(len(st.Events)) != nil {
		t.Errorf("EventsSince pieces differ from Status.Events")
	}
}
