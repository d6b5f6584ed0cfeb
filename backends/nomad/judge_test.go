package nomad

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/jobspec"
)

// manifestJob is the manifest's Nomad job, as registered at t0.
func manifestJob(t *testing.T, manifest string) *api.Job {
	t.Helper()
	j, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	nj := nomadJob(t, j, t0)
	nj.Meta[metaCreated] = t0.Format(time.RFC3339Nano)
	return nj
}

// killed is a task Nomad stopped at s: Killing, then its end by SIGTERM.
func killed(start, s int) []*api.TaskEvent {
	return []*api.TaskEvent{ev("Started", start), ev("Killing", s), ev("Terminated", s, "exit_code", "0", "signal", "15"), ev("Killed", s)}
}

func stopped(a *api.AllocationListStub) *api.AllocationListStub {
	a.DesiredStatus = api.AllocDesiredStatusStop
	return a
}

const pfpJob = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  completions: 4
  parallelism: 2
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: main, operator: In, values: [42]}
    - action: Ignore
      onPodConditions: [{type: DisruptionTarget}]
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: bash, command: [bash, -c, "exit 42"]}
`

const successJob = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  completions: 4
  parallelism: 4
  completionMode: Indexed
  backoffLimit: 10
  successPolicy:
    rules: [{succeededIndexes: "2"}]
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: bash, command: [bash, -c, "exit 1"]}
`

const perIndexJob = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  completions: 4
  parallelism: 4
  completionMode: Indexed
  backoffLimitPerIndex: 1
  maxFailedIndexes: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: bash, command: [bash, -c, "exit 1"]}
`

const ignoreExitJob = `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  backoffLimit: 1
  podFailurePolicy:
    rules:
    - action: Ignore
      onExitCodes: {operator: In, values: [3]}
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: bash, command: [bash, -c, "exit 3"]}
`

// TestJudgeRecorded judges recorded allocation histories: the status is the
// Job controller's verdict on them, and enforce says whether a watcher
// must stop the Nomad job.
func TestJudgeRecorded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		job     *api.Job
		allocs  []*api.AllocationListStub
		now     int
		want    string // phase reason active/succeeded/failed completed failedIndexes enforce
		message string
	}{{
		// The docs' example: the first pod exits 42 while the second runs.
		name: "FailJob on exit 42, a sibling still running", job: manifestJob(t, pfpJob), now: 4,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "failed", 0, 0, exited("42", 1, 3)...),
			alloc("b", 1, 2, "running", 0, 0, ev("Started", 1)),
			alloc("c", 2, 2, "running", 0, 0, ev("Started", 1)),
			alloc("d", 3, 2, "running", 0, 0, ev("Started", 1)),
		},
		want:    "Failed PodFailurePolicy 0/0/2 - - true",
		message: "Container main for pod default/a-0000-0 failed with exit code 42 matching FailJob rule at index 0; Nomad does not apply this rule and still runs or will retry the job's allocations (3 active)",
	}, {
		name: "FailJob, the Nomad job stopped since", job: stoppedJob(manifestJob(t, pfpJob)), now: 9,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "failed", 0, 0, exited("42", 1, 3)...),
			stopped(alloc("b", 1, 2, "complete", 0, 0, killed(1, 4)...)),
			stopped(alloc("c", 2, 2, "complete", 0, 0, killed(1, 4)...)),
			stopped(alloc("d", 3, 2, "complete", 0, 0, killed(1, 4)...)),
		},
		want:    "Failed PodFailurePolicy 0/0/2 - - false",
		message: "matching FailJob rule at index 0; the Nomad job is stopped",
	}, {
		// Nomad stopped (drained) b while the job ran: an eviction, which the
		// Ignore rule on DisruptionTarget does not count; its replacement b2
		// and the others succeed.
		name: "an allocation Nomad stopped is an eviction", job: manifestJob(t, pfpJob), now: 20,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "complete", 0, 0, exited("0", 1, 3)...),
			stopped(alloc("b", 1, 2, "complete", 0, 0, killed(1, 4)...)),
			alloc("b2", 1, 5, "complete", 0, 0, exited("0", 6, 8)...),
			alloc("c", 2, 2, "complete", 0, 0, exited("0", 4, 9)...),
			alloc("d", 3, 2, "complete", 0, 0, exited("0", 9, 10)...),
		},
		want: "Succeeded  0/4/0 - - false",
	}, {
		// Index 2 succeeds while the others fail and Nomad retries them.
		name: "successPolicy met, the other indexes failing", job: manifestJob(t, successJob), now: 6,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "failed", 0, 0, exited("1", 1, 2)...),
			alloc("b", 1, 2, "failed", 0, 0, exited("1", 1, 2)...),
			alloc("c", 2, 2, "complete", 0, 0, exited("0", 1, 4)...),
			alloc("d", 3, 2, "failed", 0, 0, exited("1", 1, 2)...),
		},
		want: "Succeeded  0/1/3 2 - true",
	}, {
		name: "maxFailedIndexes exceeded", job: manifestJob(t, perIndexJob), now: 20,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "complete", 0, 0, exited("0", 1, 2)...),
			alloc("b", 1, 2, "failed", 0, 0, exited("1", 1, 2)...),
			alloc("b2", 1, 8, "failed", 1, 0, exited("1", 12, 13)...),
			alloc("c", 2, 2, "running", 0, 0, ev("Started", 1)),
			alloc("d", 3, 2, "failed", 0, 0, exited("1", 1, 2)...),
			alloc("d2", 3, 8, "failed", 1, 0, exited("1", 12, 14)...),
		},
		want:    "Failed MaxFailedIndexesExceeded 0/1/5 0 1,3 true",
		message: "Job has exceeded the specified maximal number of failed indexes",
	}, {
		// Nomad counts the ignored failure against the one reschedule; the
		// Job controller would create another pod: Nomad ended the job.
		name: "ignored failures used up Nomad's reschedules", job: func() *api.Job { j := manifestJob(t, ignoreExitJob); j.Status = ptr("dead"); return j }(), now: 20,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "failed", 0, 0, exited("3", 1, 2)...),
			alloc("b", 0, 8, "failed", 1, 0, exited("3", 8, 9)...),
		},
		want:    "Failed RetriesExhausted 0/0/0 - - false",
		message: "Nomad has no retry left for the job's allocations (2 attempts), where Kubernetes would create another pod: the job ended as Nomad ended it; the last attempt, in allocation b-0000-0, exited with code 3",
	}, {
		name: "an index out of Nomad's reschedules", job: manifestJob(t, strings.Replace(strings.Replace(ignoreExitJob, "backoffLimit: 1", "completions: 2\n  completionMode: Indexed\n  backoffLimitPerIndex: 1", 1), "exit 3", "exit $JOB_COMPLETION_INDEX", 1)), now: 20,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "complete", 0, 0, exited("0", 1, 2)...),
			alloc("b", 1, 2, "failed", 0, 0, exited("3", 1, 2)...),
			alloc("c", 1, 8, "failed", 1, 0, exited("3", 8, 9)...),
		},
		want:    "Failed RetriesExhausted 0/1/0 0 - false",
		message: "Nomad has no retry left for completion index 1 (2 attempts), where Kubernetes would create another pod: the job ended as Nomad ended it; the last attempt, in allocation c-0000-0, exited with code 3",
	}, {
		// Someone stopped the Nomad job: its killed allocation is not a
		// failure of the pod's own.
		name: "stopped by hand", job: stoppedJob(testJob(1, 0, nil)), now: 20,
		allocs: []*api.AllocationListStub{stopped(alloc("a", 0, 2, "complete", 0, 0, killed(2, 5)...))},
		want:   "Failed Stopped 0/0/0 - - false",
	}, {
		// parallelism 1: Nomad ran both at once; the controller judges them
		// one after the other.
		name: "parallelism replayed", job: manifestJob(t, strings.Replace(pfpJob, "parallelism: 2", "parallelism: 1", 1)), now: 20,
		allocs: []*api.AllocationListStub{
			alloc("a", 0, 2, "complete", 0, 0, exited("0", 1, 5)...),
			alloc("b", 1, 2, "complete", 0, 0, exited("0", 1, 4)...),
			alloc("c", 2, 2, "complete", 0, 0, exited("0", 1, 4)...),
			alloc("d", 3, 2, "complete", 0, 0, exited("0", 1, 6)...),
		},
		want: "Succeeded  0/4/0 - - false",
	}, {
		// Job-wide backoffLimit 6 across 4 indexes, 2 at a time: the 7th
		// failure fails the job although every index has reschedules left
		// in Nomad; the pod still running then counts failed too.
		name: "job-wide backoffLimit across indexes", job: manifestJob(t, strings.Replace(pfpJob, "values: [42]", "values: [99]", 1)), now: 30,
		allocs: func() []*api.AllocationListStub {
			var as []*api.AllocationListStub
			for i := range 4 {
				as = append(as, alloc(fmt.Sprintf("a%d", i), i, 2, "failed", 0, 0, exited("1", 1, 2+i)...))
				as = append(as, alloc(fmt.Sprintf("b%d", i), i, 10, "failed", 1, 0, exited("1", 11, 12+i)...))
			}
			return as
		}(),
		want:    "Failed BackoffLimitExceeded 0/0/8 - - true",
		message: "Job has reached the specified backoff limit",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			st, as := assess(tc.job, tc.allocs, time.Unix(0, at(tc.now)))
			got := fmt.Sprintf("%s %s %d/%d/%d %s %s %v", st.Phase, st.Reason, st.Active, st.Succeeded, st.Failed,
				orDash(st.CompletedIndexes), orDash(st.FailedIndexes), as.enforce)
			if got != tc.want {
				t.Errorf("status %q, want %q (message %q)", got, tc.want, st.Message)
			}
			if !strings.Contains(st.Message, tc.message) {
				t.Errorf("message %q, want it to contain %q", st.Message, tc.message)
			}
			if st.Phase.Terminal() != (st.CompletionTime != nil) {
				t.Errorf("completionTime %v in phase %s", st.CompletionTime, st.Phase)
			}
		})
	}
}

func stoppedJob(j *api.Job) *api.Job {
	j.Stop, j.Status, j.Version = ptr(true), ptr("dead"), ptr[uint64](1)
	return j
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
