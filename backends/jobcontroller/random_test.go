package jobcontroller

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// Many jobs with random behaviour (fixed seed): the machine never panics,
// never asks for a timer in the past, always finishes, and ends with no
// active or terminating pod and counts that add up.
func TestRandomJobsFinish(t *testing.T) {
	specs := []struct{ spec, pod string }{
		{"completions: 3\nparallelism: 2\nbackoffLimit: 4", "restartPolicy: Never"},
		{"completions: 3\nparallelism: 3\nbackoffLimit: 4", "restartPolicy: OnFailure"},
		{"parallelism: 3\nbackoffLimit: 3", "restartPolicy: Never\nactiveDeadlineSeconds: 40"},
		{"completionMode: Indexed\ncompletions: 5\nparallelism: 2\nbackoffLimitPerIndex: 1\nmaxFailedIndexes: 2", "restartPolicy: Never"},
		{"completionMode: Indexed\ncompletions: 4\nparallelism: 4\nsuccessPolicy: {rules: [{succeededCount: 2}]}", "restartPolicy: OnFailure\ninitContainers: [{name: init, image: x}]"},
		{"completions: 2\nparallelism: 2\npodFailurePolicy: {rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}, {action: FailJob, onExitCodes: {operator: In, values: [9]}}]}",
			"restartPolicy: Never\ncontainers: [{name: a, image: x}, {name: b, image: x}]"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		sp := specs[i%len(specs)]
		seed := rng.Uint64()
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			do := func(int32, string, int) effect {
				e := effect{after: time.Duration(r.IntN(30)) * time.Second, ignoreSigterm: r.IntN(4) == 0}
				switch r.IntN(10) {
				case 0:
					e.hang = true
				case 1:
					e.evictAfter = e.after + time.Second
					e.disrupt = []string{"", "EvictionByEvictionAPI", "DeletionByPodGC"}[r.IntN(3)]
				case 2, 3, 4:
					e.exit = int32(1 + r.IntN(10))
				case 5:
					e.exit, e.reason = 128, "StartError"
				}
				return e
			}
			rt := newRuntime(t, job(sp.spec+"\nactiveDeadlineSeconds: 3000", sp.pod), Options{}, do)
			if r.IntN(3) == 0 {
				rt.at(time.Duration(r.IntN(60))*time.Second, func() { rt.m.Suspend(rt.now) })
				rt.at(time.Duration(60+r.IntN(60))*time.Second, func() { rt.m.Resume(rt.now) })
			}
			st := rt.run()
			if st.Active != 0 || st.Terminating != 0 || !st.Phase.Terminal() {
				t.Fatalf("%s active=%d terminating=%d\n%s", st.Phase, st.Active, st.Terminating, rt.logString())
			}
			if int(st.Succeeded+st.Failed) > len(st.Pods) {
				t.Fatalf("succeeded %d + failed %d > %d pods", st.Succeeded, st.Failed, len(st.Pods))
			}
			if _, ok := rt.m.NextTimer(); ok {
				t.Errorf("timer left after the end")
			}
		})
	}
}
