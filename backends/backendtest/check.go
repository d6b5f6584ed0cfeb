package backendtest

import (
	"github.com/batchctl/batchctl/backends"
)

var phases = map[backends.Phase]bool{backends.Pending: true, backends.Running: true, backends.Succeeded: true, backends.Failed: true}

// check holds every status the suite sees to what the contract promises, so
// a backend that leaves a promised field empty fails whatever case it is in.
func (e *env) check(st *backends.Status) {
	e.t.Helper()
	bad := func(format string, args ...any) {
		e.t.Helper()
		e.t.Errorf("status of %s/%s: "+format, append([]any{st.Namespace, st.Name}, args...)...)
	}
	switch {
	case st.Name == "" || st.Namespace == "":
		bad("name and namespace must be set")
	case st.Backend != e.info.Name:
		bad("backend %q, want %q", st.Backend, e.info.Name)
	case st.UID == "":
		bad("no uid")
	case !phases[st.Phase]:
		bad("phase %q", st.Phase)
	case st.CreationTime == nil:
		bad("no creationTime")
	case st.Completions < 1 || st.Parallelism < 0:
		bad("completions/parallelism %d/%d", st.Completions, st.Parallelism)
	case st.CompletionMode != "NonIndexed" && st.CompletionMode != "Indexed":
		bad("completionMode %q", st.CompletionMode)
	case st.Active < 0 || st.Succeeded < 0 || st.Failed < 0:
		bad("negative counts %d/%d/%d", st.Active, st.Succeeded, st.Failed)
	case st.Phase.Terminal() && st.CompletionTime == nil:
		bad("finished (%s) without completionTime", st.Phase)
	case !st.Phase.Terminal() && st.CompletionTime != nil:
		bad("completionTime set while %s", st.Phase)
	case st.Phase.Terminal() && st.Active != 0:
		bad("finished (%s) with %d active", st.Phase, st.Active)
	case st.Phase == backends.Failed && st.Reason == "":
		bad("failed without a reason")
	case st.Phase == backends.Succeeded && st.Reason != "":
		bad("succeeded with reason %q (success has none)", st.Reason)
	case (st.Phase.Terminal() || st.Phase == backends.Running) && st.StartTime == nil && st.Reason != backends.ReasonSuspended:
		bad("%s without startTime", st.Phase)
	}
	for _, a := range st.Attempts {
		switch {
		case a.Pod == "":
			bad("attempt without a pod name: %+v", a)
		case !phases[a.Phase]:
			bad("attempt %s #%d phase %q", a.Pod, a.Attempt, a.Phase)
		case a.Phase.Terminal() && a.ExitCode == nil && a.Reason == "":
			bad("attempt %s #%d %s with neither exit code nor reason", a.Pod, a.Attempt, a.Phase)
		case a.Phase == backends.Succeeded && (a.ExitCode == nil || *a.ExitCode != 0):
			bad("attempt %s #%d succeeded with exit code %v", a.Pod, a.Attempt, a.ExitCode)
		case st.CompletionMode == "Indexed" && a.Index == nil:
			bad("attempt %s #%d of an Indexed job has no index", a.Pod, a.Attempt)
		case a.Attempt < 0:
			bad("attempt %s number %d", a.Pod, a.Attempt)
		}
	}
}
