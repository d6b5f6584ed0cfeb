package nomad

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Submit registers the job with EnforceIndex and index 0, which Nomad
// refuses when a job of that ID exists (its register otherwise updates the
// job in place). A generated name that collides is drawn again.
func (b *backend) Submit(ctx context.Context, job *jobspec.Job) (*backends.Status, error) {
	for try := 0; ; try++ {
		id := jobID(job)
		st, err := b.register(ctx, job, id)
		if errors.Is(err, backends.ErrAlreadyExists) && job.Name == "" && try < 4 {
			continue
		}
		return st, err
	}
}

func (b *backend) register(ctx context.Context, job *jobspec.Job, id string) (*backends.Status, error) {
	nj, _, err := b.translate(job, id, "submit")
	if err != nil {
		return nil, err
	}
	ref := backends.Ref{Name: id, Namespace: deref(nj.Namespace)}
	var resp *api.JobRegisterResponse
	err = b.call(ctx, "submit", ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		var err error
		resp, _, err = c.Jobs().RegisterOpts(nj, &api.RegisterOptions{EnforceIndex: true, ModifyIndex: 0}, w)
		return err
	})
	if err != nil {
		return nil, b.whyRejected(ctx, nj, ref, err)
	}
	if resp.Warnings != "" {
		fmt.Fprintf(b.stderr, "nomad: warning: %s\n", strings.TrimSpace(resp.Warnings))
	}
	now := time.Now()
	return &backends.Status{
		Name:           id,
		Namespace:      ref.Namespace,
		Backend:        Name,
		UID:            strconv.FormatUint(resp.JobModifyIndex, 10), // the new job's CreateIndex
		Phase:          backends.Pending,
		Completions:    job.Completions,
		Parallelism:    job.Parallelism,
		CompletionMode: string(mode(job)),
		CreationTime:   &now,
		StartTime:      &now,
		Labels:         labelsOf(nj.Meta),
	}, nil
}

// whyRejected tells a job Nomad refuses (its validation errors come back as
// HTTP 500, like its outages) from a server failure, by asking Nomad's
// validate endpoint; only then is the error ErrInvalid with Nomad's words.
func (b *backend) whyRejected(ctx context.Context, nj *api.Job, ref backends.Ref, err error) error {
	code, body := response(err)
	if code != 500 || errors.Is(err, backends.ErrAlreadyExists) {
		return err
	}
	var v *api.JobValidateResponse
	verr := b.call(ctx, "submit", ref, func(c *api.Client) error {
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		var err error
		v, _, err = c.Jobs().Validate(nj, w)
		return err
	})
	if verr != nil || (len(v.ValidationErrors) == 0 && v.Error == "") {
		if strings.Contains(body, "validation failed") || strings.Contains(body, "namespace") {
			return &backends.Error{Kind: backends.ErrInvalid, Op: "submit", Ref: ref, Msg: "Nomad rejected the job: " + body}
		}
		return err
	}
	msg := v.Error
	if len(v.ValidationErrors) > 0 {
		msg = strings.Join(v.ValidationErrors, "; ")
	}
	return &backends.Error{Kind: backends.ErrInvalid, Op: "submit", Ref: ref, Msg: "Nomad rejected the job: " + strings.TrimSpace(msg)}
}

// Delete stops and purges the job: its allocations are stopped and, with
// the job, forgotten by the servers (their logs go when the client collects
// them). Nomad purges an unknown ID without complaint, so the job is looked
// up first.
func (b *backend) Delete(ctx context.Context, ref backends.Ref) error {
	ref = b.ref(ref)
	return b.call(ctx, "delete", ref, func(c *api.Client) error {
		q := b.query(ref).WithContext(ctx)
		j, _, err := c.Jobs().Info(ref.Name, q)
		if err != nil {
			return err
		}
		if j.Periodic != nil {
			return notFound("delete", ref) // a CronJob: DeleteCronJob removes it
		}
		w := (&api.WriteOptions{Namespace: ref.Namespace, Region: b.cfg.Region}).WithContext(ctx)
		_, _, err = c.Jobs().DeregisterOpts(ref.Name, &api.DeregisterOptions{Purge: true}, w)
		return err
	})
}

// listNamespace is the namespace List reads: "*" for all of them.
func (b *backend) listNamespace(opts backends.ListOptions) string {
	switch {
	case opts.AllNamespaces:
		return "*"
	case opts.Namespace != "":
		return opts.Namespace
	}
	return b.namespace
}

// listStubs reads the jobs list of ns with each job's meta, where the
// labels are (a blocking query when index > 0); op names the command in
// errors.
func (b *backend) listStubs(ctx context.Context, op, ns string, index uint64, wait time.Duration) ([]*api.JobListStub, uint64, error) {
	var stubs []*api.JobListStub
	var last uint64
	err := b.call(ctx, op, backends.Ref{Namespace: ns}, func(c *api.Client) error {
		q := (&api.QueryOptions{Namespace: ns, Region: b.cfg.Region, WaitIndex: index, WaitTime: wait}).WithContext(ctx)
		var err error
		var qm *api.QueryMeta
		stubs, qm, err = c.Jobs().ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}}, q)
		if err == nil {
			last = qm.LastIndex
		}
		return err
	})
	return stubs, last, err
}

// listed tells whether List reports the job of a list stub: a batch job of
// batchctl's whose labels sel matches. A CronJob's runs (its children) are
// Jobs; the CronJob itself is not.
func listed(j *api.JobListStub, sel labels.Selector) bool {
	ownJob := j.ParentID == "" || j.Meta[backends.CronJobLabel] != ""
	return j.Type == api.JobTypeBatch && !j.Periodic && ownJob && managed(j.Meta) && backends.Matches(sel, labelsOf(j.Meta))
}

// statuses reads the status of each job as List reports it (no attempts),
// a few at once: Nomad has no bulk status. A job deleted meanwhile is nil
// in its place; any other error is returned.
func (b *backend) statuses(ctx context.Context, refs []backends.Ref) ([]*backends.Status, error) {
	out := make([]*backends.Status, len(refs))
	errs := make([]error, len(refs))
	var g errgroup.Group
	g.SetLimit(4)
	for i, ref := range refs {
		g.Go(func() error {
			st, err := b.Status(ctx, ref)
			if err == nil {
				st.Attempts = nil
			}
			out[i], errs[i] = st, err
			return nil // errors are sorted out below, in order
		})
	}
	_ = g.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, backends.ErrNotFound):
			out[i] = nil
		default:
			return nil, err
		}
	}
	return out, nil
}

// List finds batch jobs with batchctl's managed-by meta whose labels match,
// then reads each one's status (two requests per job, four at a time).
func (b *backend) List(ctx context.Context, opts backends.ListOptions) ([]*backends.Status, error) {
	stubs, _, err := b.listStubs(ctx, "list", b.listNamespace(opts), 0, 0)
	if err != nil {
		return nil, err
	}
	var refs []backends.Ref
	for _, j := range stubs {
		if listed(j, opts.Selector) {
			refs = append(refs, backends.Ref{Name: j.ID, Namespace: j.Namespace})
		}
	}
	sts, err := b.statuses(ctx, refs)
	if err != nil {
		return nil, err
	}
	var found []*backends.Status
	for _, st := range sts {
		if st != nil {
			found = append(found, st)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Namespace != found[j].Namespace {
			return found[i].Namespace < found[j].Namespace
		}
		return found[i].Name < found[j].Name
	})
	return found, nil
}
