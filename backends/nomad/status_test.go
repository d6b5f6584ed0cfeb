package nomad

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(s int) int64 { return t0.Add(time.Duration(s) * time.Second).UnixNano() }

// testJob is a one-task job as Nomad returns it, retried by reschedule
// (Never) up to resched times, as an older batchctl wrote it (no
// job-controller meta: the judge reads the Job back from the Nomad job).
func testJob(count, resched int, meta map[string]string) *api.Job {
	m := map[string]string{"batchctl:parallelism": fmt.Sprint(count)}
	for k, v := range meta {
		m[k] = v
	}
	return &api.Job{
		ID: ptr("j"), Namespace: ptr("default"), Type: ptr("batch"), Status: ptr("running"),
		CreateIndex: ptr[uint64](7), SubmitTime: ptr(at(0)), Meta: m,
		TaskGroups: []*api.TaskGroup{{
			Name: ptr(groupName), Count: &count,
			ReschedulePolicy: &api.ReschedulePolicy{Attempts: &resched, Unlimited: ptr(false), Interval: ptr(forever)},
			Tasks:            []*api.Task{{Name: "main"}},
		}},
	}
}

// onFailure is testJob restarting its task in place up to restarts times.
func onFailure(j *api.Job, restarts int) *api.Job {
	j.TaskGroups[0].RestartPolicy = &api.RestartPolicy{Attempts: &restarts, Mode: ptr("fail")}
	j.TaskGroups[0].ReschedulePolicy.Attempts = ptr(0)
	return j
}

func ev(typ string, s int, details ...string) *api.TaskEvent {
	e := &api.TaskEvent{Type: typ, Time: at(s), Details: map[string]string{}}
	for i := 0; i+1 < len(details); i += 2 {
		e.Details[details[i]] = details[i+1]
	}
	return e
}

// alloc is allocation id of index i with the given client status and the
// main task's events; rescheduled counts its reschedule tracker's events.
func alloc(id string, i, create int, status string, rescheduled int, restarts uint64, events ...*api.TaskEvent) *api.AllocationListStub {
	a := &api.AllocationListStub{
		ID: id + "-0000-0000", Name: fmt.Sprintf("j.pod[%d]", i), TaskGroup: groupName,
		ClientStatus: status, DesiredStatus: "run", CreateIndex: uint64(create), ModifyTime: at(create),
		TaskStates: map[string]*api.TaskState{"main": {State: "dead", Restarts: restarts, Events: events}},
	}
	if status == "running" || status == "pending" {
		a.TaskStates["main"].State = status
	}
	if rescheduled > 0 {
		a.RescheduleTracker = &api.RescheduleTracker{}
		for range rescheduled {
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events, &api.RescheduleEvent{RescheduleTime: at(create)})
		}
	}
	return a
}

func exited(code string, start, end int) []*api.TaskEvent {
	return []*api.TaskEvent{ev("Started", start), ev("Terminated", end, "exit_code", code)}
}

// describeAttempts renders attempts as "index/attempt pod phase exit reason".
func describeAttempts(atts []backends.Attempt) string {
	var parts []string
	for _, a := range atts {
		exit := "-"
		if a.ExitCode != nil {
			exit = fmt.Sprint(*a.ExitCode)
		}
		parts = append(parts, fmt.Sprintf("%d/%d %s %s %s %s", *a.Index, a.Attempt, a.Pod, a.Phase, exit, a.Reason))
	}
	return strings.Join(parts, "; ")
}

func TestToStatus(t *testing.T) {
	// The first ten of 12 restarts' events are gone: only the last runs'
	// events are kept by the client.
	var truncated []*api.TaskEvent
	truncated = append(truncated, ev("Restarting", 20), ev("Started", 21), ev("Terminated", 22, "exit_code", "3"),
		ev("Restarting", 23), ev("Started", 24), ev("Terminated", 25, "exit_code", "0"))
	for _, tc := range []struct {
		name     string
		job      *api.Job
		allocs   []*api.AllocationListStub
		now      int
		want     string // phase reason active/succeeded/failed
		attempts string
		message  string
		finished int // seconds after t0 of completionTime, when checked
	}{{
		name: "nothing placed yet", job: testJob(1, 0, nil), now: 1,
		want: "Pending  0/0/0", message: "waiting for Nomad to place",
	}, {
		name: "succeeded", job: testJob(2, 0, nil), now: 9,
		allocs: []*api.AllocationListStub{alloc("b", 1, 3, "complete", 0, 0, exited("0", 2, 5)...), alloc("a", 0, 2, "complete", 0, 0, exited("0", 2, 4)...)},
		want:   "Succeeded  0/2/0", attempts: "0/0 a-0000-0 Succeeded 0 Completed; 1/0 b-0000-0 Succeeded 0 Completed", finished: 5,
	}, {
		name: "failed once, a reschedule is due", job: testJob(1, 1, nil), now: 9,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "failed", 0, 0, exited("3", 2, 3)...)},
		want:   "Running  0/0/1", attempts: "0/0 a-0000-0 Failed 3 Error",
	}, {
		name: "reschedules exhausted", job: testJob(1, 1, nil), now: 9,
		allocs: []*api.AllocationListStub{alloc("b", 0, 5, "failed", 1, 0, exited("4", 5, 6)...), alloc("a", 0, 2, "failed", 0, 0, exited("3", 2, 3)...)},
		want:   "Failed BackoffLimitExceeded 0/0/2", attempts: "0/0 a-0000-0 Failed 3 Error; 0/1 b-0000-0 Failed 4 Error",
		message: "Job has reached the specified backoff limit", finished: 6,
	}, {
		name: "restarted in place past the kept events", job: onFailure(testJob(1, 0, nil), 3), now: 30,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "complete", 0, 2, truncated...)},
		want:   "Succeeded  0/1/0", attempts: "0/0 a-0000-0 Failed - Error; 0/1 a-0000-0 Failed 3 Error; 0/2 a-0000-0 Succeeded 0 Completed",
	}, {
		name: "waiting to restart", job: onFailure(testJob(1, 0, nil), 2), now: 4,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "running", 0, 1, ev("Started", 2), ev("Terminated", 3, "exit_code", "3"), ev("Restarting", 3))},
		want:   "Running  1/0/0", attempts: "0/0 a-0000-0 Failed 3 Error; 0/1 a-0000-0 Pending - ",
	}, {
		name: "driver failure", job: testJob(1, 0, nil), now: 4,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "failed", 0, 0, ev("Driver Failure", 3, "driver_error", "no such file"))},
		want:   "Failed BackoffLimitExceeded 0/0/1", attempts: "0/0 a-0000-0 Failed 128 StartError",
	}, {
		// A lost allocation is a pod the pod GC deleted: Kubernetes counts
		// it failed (unless a pod failure policy ignores DisruptionTarget).
		name: "lost, replacement running", job: testJob(1, 1, nil), now: 9,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "lost", 0, 0, ev("Started", 2)), alloc("b", 0, 6, "running", 0, 0, ev("Started", 7))},
		want:   "Running  1/0/1", attempts: "0/0 a-0000-0 Failed - Lost; 0/1 b-0000-0 Running - ",
	}, {
		name: "deadline passed while running", job: testJob(1, 0, map[string]string{"batchctl:active-deadline-seconds": "5"}), now: 6,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "running", 0, 0, ev("Started", 2))},
		want:   "Failed DeadlineExceeded 0/0/1", attempts: "0/0 a-0000-0 Running - ",
		message: "Job was active longer than specified deadline; Nomad does not apply this rule and still runs or will retry the job's allocations (1 active)", finished: 5,
	}, {
		name: "succeeded after the deadline", job: testJob(1, 0, map[string]string{"batchctl:active-deadline-seconds": "5"}), now: 9,
		allocs: []*api.AllocationListStub{alloc("a", 0, 2, "complete", 0, 0, exited("0", 2, 8)...)},
		// Kubernetes would have stopped the pod at the deadline: it counts failed.
		want: "Failed DeadlineExceeded 0/0/1", attempts: "0/0 a-0000-0 Succeeded 0 Completed", finished: 5,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st := toStatus(tc.job, tc.allocs, time.Unix(0, at(tc.now)))
			got := fmt.Sprintf("%s %s %d/%d/%d", st.Phase, st.Reason, st.Active, st.Succeeded, st.Failed)
			if got != tc.want {
				t.Errorf("status %q, want %q (message %q)", got, tc.want, st.Message)
			}
			if a := describeAttempts(st.Attempts); a != tc.attempts {
				t.Errorf("attempts\n %s\nwant\n %s", a, tc.attempts)
			}
			if !strings.Contains(st.Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", st.Message, tc.message)
			}
			if st.UID != "7" || int(st.Completions) != *tc.job.TaskGroups[0].Count || st.StartTime == nil {
				t.Errorf("uid %q completions %d start %v", st.UID, st.Completions, st.StartTime)
			}
			if tc.finished > 0 && (st.CompletionTime == nil || st.CompletionTime.UnixNano() != at(tc.finished)) {
				t.Errorf("completionTime %v, want %v", st.CompletionTime, time.Unix(0, at(tc.finished)).UTC())
			}
			if st.Phase.Terminal() != (st.CompletionTime != nil) {
				t.Errorf("completionTime %v in phase %s: want it exactly when finished", st.CompletionTime, st.Phase)
			}
		})
	}
}
