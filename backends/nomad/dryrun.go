package nomad

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// DryRun asks the servers to plan the job, as `nomad job plan` does: they
// validate it and run the scheduler without placing anything. A job of that
// ID is refused as Submit refuses it (plan would show it as an update).
func (b *backend) DryRun(ctx context.Context, job *jobspec.Job) (*backends.DryRun, error) {
	id := jobID(job)
	nj, _, err := b.translate(job, id, "submit")
	if err != nil {
		return nil, err
	}
	ref := backends.Ref{Name: id, Namespace: deref(nj.Namespace)}
	var plan *api.JobPlanResponse
	err = b.call(ctx, "submit", ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		var err error
		plan, _, err = c.Jobs().Plan(nj, false, w)
		return err
	})
	if err != nil {
		return nil, b.whyRejected(ctx, nj, ref, err)
	}
	// Checked after the plan, as the API server checks the name after
	// validating: a job refused as existing is otherwise acceptable.
	err = b.call(ctx, "submit", ref, func(c *api.Client) error {
		_, _, err := c.Jobs().Info(id, b.query(ref).WithContext(ctx))
		if err == nil {
			return &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit", Ref: ref,
				Msg: fmt.Sprintf("job %s already exists in Nomad namespace %s", id, ref.Namespace)}
		}
		return err
	})
	if !errors.Is(err, backends.ErrNotFound) {
		return nil, err
	}
	now := time.Now()
	dr := &backends.DryRun{
		Status: &backends.Status{Name: id, Namespace: ref.Namespace, Backend: Name, Phase: backends.Pending,
			Completions: job.Completions, Parallelism: job.Parallelism, CompletionMode: string(mode(job)),
			CreationTime: &now, Labels: labelsOf(nj.Meta)},
		Native: nj,
	}
	if w := strings.TrimSpace(plan.Warnings); w != "" {
		dr.Warnings = append(dr.Warnings, w)
	}
	groups := make([]string, 0, len(plan.FailedTGAllocs))
	for g := range plan.FailedTGAllocs {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		dr.Warnings = append(dr.Warnings, fmt.Sprintf("group %s could not be placed now (%s): it would wait for a node", g, placementFailure(plan.FailedTGAllocs[g])))
	}
	return dr, nil
}
