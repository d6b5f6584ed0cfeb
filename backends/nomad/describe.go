package nomad

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
)

// Describe is Status plus the task events of every allocation, the Job
// controller's verdict (the event Kubernetes records when a job finishes)
// and, while allocations are missing, why Nomad could not place them (its
// evaluations): one more request.
func (b *backend) Describe(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	ref = b.ref(ref)
	s, err := b.load(ctx, "describe", ref, 0, 0)
	if err != nil {
		return nil, err
	}
	st, as := assess(s.job, s.allocs, time.Now())
	st.Events = append(st.Events, as.events...)
	for _, a := range s.allocs {
		for task, ts := range a.TaskStates {
			for _, e := range ts.Events {
				st.Events = append(st.Events, taskEvent(a, task, e))
			}
		}
	}
	var evals []*api.Evaluation
	err = b.call(ctx, "describe", ref, func(c *api.Client) error {
		var err error
		evals, _, err = c.Jobs().Evaluations(ref.Name, b.query(ref).WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range evals {
		for group, m := range ev.FailedTGAllocs {
			st.Events = append(st.Events, backends.Event{
				Time: time.Unix(0, ev.ModifyTime), Type: "Warning", Reason: "PlacementFailed",
				Object: "group/" + group, Message: placementFailure(m),
			})
		}
	}
	sort.SliceStable(st.Events, func(i, j int) bool { return st.Events[i].Time.Before(st.Events[j].Time) })
	return st, nil
}

func taskEvent(a *api.AllocationListStub, task string, e *api.TaskEvent) backends.Event {
	typ := "Normal"
	if e.FailsTask || startFailures[e.Type] || e.Type == api.TaskNotRestarting ||
		(e.Type == api.TaskTerminated && exitCode(e) != 0) {
		typ = "Warning"
	}
	msg := e.DisplayMessage
	if msg == "" {
		msg = e.Message
	}
	return backends.Event{
		Time: time.Unix(0, e.Time), Type: typ, Reason: strings.ReplaceAll(e.Type, " ", ""),
		Object: shortID(a.ID) + "/" + task, Message: msg,
	}
}

// placementFailure summarizes why the scheduler found no node, as `nomad
// job status` does.
func placementFailure(m *api.AllocationMetric) string {
	if m == nil {
		return "no node could run the allocation"
	}
	parts := []string{fmt.Sprintf("%d of %d nodes evaluated", m.NodesEvaluated, m.NodesInPool)}
	add := func(what string, counts map[string]int) {
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %q: %d", what, k, counts[k]))
		}
	}
	add("filtered by constraint", m.ConstraintFiltered)
	add("filtered by class", m.ClassFiltered)
	add("exhausted", m.DimensionExhausted)
	if m.NodesAvailable != nil && len(m.NodesAvailable) == 0 {
		parts = append(parts, "no node in the job's datacenters")
	}
	return strings.Join(parts, "; ")
}
