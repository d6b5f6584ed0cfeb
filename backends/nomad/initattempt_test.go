package nomad

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// An allocation whose prestart task (an init container) failed shows it as
// kubectl shows such a pod: Init:Error, with the task's exit code. A
// sidecar, or a group of prestart tasks only (run as the containers), are
// not init containers.
func TestInitTaskFailureAttempt(t *testing.T) {
	prestart := func(sidecar bool) *api.TaskLifecycle {
		return &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart, Sidecar: sidecar}
	}
	for _, tc := range []struct {
		name   string
		tasks  []*api.Task
		failed string // the task that exits 1
		want   string
	}{
		{"init", []*api.Task{{Name: "setup", Lifecycle: prestart(false)}, {Name: "main"}}, "setup", "0/0 a-0000-0 Failed 1 Init:Error"},
		{"main", []*api.Task{{Name: "setup", Lifecycle: prestart(false)}, {Name: "main"}}, "main", "0/0 a-0000-0 Failed 1 Error"},
		{"sidecar", []*api.Task{{Name: "proxy", Lifecycle: prestart(true)}, {Name: "main"}}, "proxy", "0/0 a-0000-0 Failed 1 Error"},
		{"prestart only", []*api.Task{{Name: "a", Lifecycle: prestart(false)}, {Name: "b", Lifecycle: prestart(false)}}, "a", "0/0 a-0000-0 Failed 1 Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := testJob(1, 0, nil)
			job.TaskGroups[0].Tasks = tc.tasks
			a := alloc("a", 0, 2, "failed", 0, 0)
			a.TaskStates = map[string]*api.TaskState{}
			for _, task := range tc.tasks {
				events := exited("0", 2, 3)
				if task.Name == tc.failed {
					events = exited("1", 2, 3)
				}
				a.TaskStates[task.Name] = &api.TaskState{State: "dead", Events: events}
			}
			st := toStatus(job, []*api.AllocationListStub{a}, time.Unix(0, at(9)))
			if got := describeAttempts(st.Attempts); got != tc.want {
				t.Errorf("attempts %s, want %s", got, tc.want)
			}
		})
	}
}
