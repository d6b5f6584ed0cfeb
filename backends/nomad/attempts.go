package nomad

import (
	"regexp"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
)

// Attempt phases and the container reasons Kubernetes uses.
const (
	phasePending   = "Pending"
	phaseRunning   = "Running"
	phaseSucceeded = "Succeeded"
	phaseFailed    = "Failed"
)

// run is one execution of one task, read from its task events.
type run struct {
	phase         string
	exit          *int32
	reason        string
	start, finish *time.Time
}

// Task event types that end a run before it started.
var startFailures = map[string]bool{
	api.TaskDriverFailure: true, api.TaskSetupFailure: true, api.TaskFailedValidation: true,
	api.TaskArtifactDownloadFailed: true, "Task hook failed": true,
}

// taskStateDead is TaskState.State once a task will not run again.
const taskStateDead = "dead"

// taskRuns lists a task's runs, oldest first. The client keeps only a task's
// last 10 events, so runs whose events are gone (TaskState.Restarts says how
// many) are put first as failed runs with no detail: under restart mode
// "fail" only a failure restarts a task.
func taskRuns(ts *api.TaskState) []run {
	if ts == nil {
		return nil
	}
	var runs []run
	open := -1 // index of the run still going
	restarting := false
	for _, e := range ts.Events {
		at := time.Unix(0, e.Time)
		switch {
		case e.Type == api.TaskStarted:
			runs = append(runs, run{phase: phaseRunning, start: &at})
			open, restarting = len(runs)-1, false
		case e.Type == api.TaskTerminated:
			if open < 0 {
				runs = append(runs, run{})
				open = len(runs) - 1
			}
			r := &runs[open]
			r.finish, r.exit = &at, ptr(exitCode(e))
			switch {
			case e.Details["oom_killed"] == "true":
				r.phase, r.reason = phaseFailed, "OOMKilled"
			case *r.exit == 0:
				r.phase, r.reason = phaseSucceeded, "Completed"
			default:
				r.phase, r.reason = phaseFailed, "Error"
			}
			open = -1
		case startFailures[e.Type]:
			runs = append(runs, run{phase: phaseFailed, reason: "StartError", exit: ptr[int32](128), finish: &at})
			open = -1
		case e.Type == api.TaskKilled && open >= 0:
			runs[open].phase, runs[open].reason, runs[open].finish = phaseFailed, "Killed", &at
			open = -1
		case e.Type == api.TaskRestarting:
			restarting = true
		}
	}
	if restarting {
		runs = append(runs, run{phase: phasePending})
	}
	if len(runs) == 0 {
		return nil
	}
	if missing := int(ts.Restarts) + 1 - len(runs); missing > 0 {
		lost := make([]run, missing, missing+len(runs))
		for i := range lost {
			lost[i] = run{phase: phaseFailed, reason: "Error"}
		}
		runs = append(lost, runs...)
	}
	return runs
}

// exitCode reads a Terminated event; a signal without an exit status counts
// as 128+signal, as a shell and Kubernetes report it.
func exitCode(e *api.TaskEvent) int32 {
	code, err := strconv.Atoi(e.Details["exit_code"])
	if err != nil {
		code = e.ExitCode
	}
	if sig, _ := strconv.Atoi(e.Details["signal"]); code == 0 && sig > 0 {
		code = 128 + sig
	}
	return int32(code)
}

// allocAttempts merges the runs of an allocation's tasks: attempt k is every
// task's k-th run (a task that did not restart has fewer). taskOrder is the
// group's task names in order, so the first failing task gives the reason;
// one of inits (init containers) gives it as kubectl shows a pod its init
// container failed: Init:Error.
func allocAttempts(a *api.AllocationListStub, taskOrder []string, inits map[string]bool) []backends.Attempt {
	runs := make([][]run, len(taskOrder))
	n := 1
	for i, name := range taskOrder {
		runs[i] = taskRuns(a.TaskStates[name])
		n = max(n, len(runs[i]))
	}
	atts := make([]backends.Attempt, n)
	for k := range atts {
		at := &atts[k]
		at.Pod = shortID(a.ID)
		var failed, running, pending, succeeded *run
		failedInit := false
		for i := range runs {
			if k >= len(runs[i]) {
				continue
			}
			r := &runs[i][k]
			switch r.phase {
			case phaseFailed:
				if failed == nil {
					failed, failedInit = r, inits[taskOrder[i]]
				}
			case phaseRunning:
				running = r
			case phasePending:
				pending = r
			case phaseSucceeded:
				if succeeded == nil {
					succeeded = r
				}
			}
			if r.start != nil && (at.StartTime == nil || r.start.Before(*at.StartTime)) {
				at.StartTime = r.start
			}
			if r.finish != nil && (at.FinishTime == nil || r.finish.After(*at.FinishTime)) {
				at.FinishTime = r.finish
			}
		}
		switch {
		case failed != nil:
			at.Phase, at.ExitCode, at.Reason = phaseFailed, failed.exit, failed.reason
			if failedInit {
				at.Reason = "Init:" + failed.reason
			}
		case running != nil:
			at.Phase = phaseRunning
		case pending != nil:
			at.Phase = phasePending
		case succeeded != nil:
			at.Phase, at.ExitCode, at.Reason = phaseSucceeded, succeeded.exit, succeeded.reason
		default:
			at.Phase = phasePending
		}
		if at.Phase != phaseFailed && at.Phase != phaseSucceeded {
			at.FinishTime = nil
		}
	}
	// The allocation has the last word on its last attempt: a task still to
	// start keeps it going, and a lost or killed allocation ends it.
	last := &atts[n-1]
	switch a.ClientStatus {
	case api.AllocClientStatusPending, api.AllocClientStatusRunning:
		if last.Phase == phaseSucceeded && !allTasksDead(a, taskOrder) {
			last.Phase, last.ExitCode, last.Reason, last.FinishTime = phaseRunning, nil, "", nil
		}
	case api.AllocClientStatusComplete:
		if last.Phase != phaseSucceeded && last.Phase != phaseFailed {
			last.Phase = phaseSucceeded
		}
	case api.AllocClientStatusFailed, api.AllocClientStatusLost:
		if last.Phase != phaseFailed {
			last.Phase, last.Reason = phaseFailed, a.ClientDescription
			if a.ClientStatus == api.AllocClientStatusLost {
				last.Reason = "Lost"
			}
		}
	}
	return atts
}

// initTasks are the group's tasks translated from init containers: its
// prestart tasks that are not sidecars, as derivedJob reads them back.
func initTasks(tg *api.TaskGroup) map[string]bool {
	inits := map[string]bool{}
	for _, t := range tg.Tasks {
		if l := t.Lifecycle; l != nil && l.Hook == api.TaskLifecycleHookPrestart && !l.Sidecar {
			inits[t.Name] = true
		}
	}
	if len(inits) == len(tg.Tasks) { // only prestart tasks: they are the containers
		return nil
	}
	return inits
}

// allTasksDead: every task has ended for good, or exited 0 (a batch task
// that succeeded is not run again; its state turns dead a moment later).
func allTasksDead(a *api.AllocationListStub, taskOrder []string) bool {
	for _, name := range taskOrder {
		ts := a.TaskStates[name]
		if ts == nil {
			return false
		}
		if runs := taskRuns(ts); ts.State != taskStateDead && (len(runs) == 0 || runs[len(runs)-1].phase != phaseSucceeded) {
			return false
		}
	}
	return true
}

// allocName is "<job>.<group>[<index>]".
var allocName = regexp.MustCompile(`\[(\d+)\]$`)

// allocIndex is the allocation's index in its group: its completion index.
func allocIndex(a *api.AllocationListStub) (int32, bool) {
	m := allocName.FindStringSubmatch(a.Name)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 32)
	return int32(n), err == nil
}

// shortID is the 8-character allocation ID prefix the nomad CLI shows.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
