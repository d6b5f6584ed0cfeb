package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// submit --dry-run modes, as kubectl's.
const (
	dryRunNone   = "none"
	dryRunClient = "client"
	dryRunServer = "server"
)

func dryRunFlag() cli.Flag {
	return &cli.StringFlag{Name: "dry-run", Value: dryRunNone, Usage: "check without submitting: client (what submit checks before contacting the backend) or server (the backend's own checks: the API server's dry run, Nomad's plan, the local runtime's); -o yaml|json prints the object that would be created"}
}

// dryRunMode reads --dry-run, refusing --wait and --follow with it.
func dryRunMode(c *cli.Context) (string, error) {
	mode := c.String("dry-run")
	if err := checkOutput(mode, dryRunNone, dryRunClient, dryRunServer); err != nil {
		return "", usagef("--dry-run %q: want client or server (--dry-run=client)", mode)
	}
	if mode != dryRunNone && (c.Bool("wait") || c.Bool("follow")) {
		return "", usagef("--dry-run submits nothing to wait for: drop --wait and --follow")
	}
	return mode, nil
}

// dryRunResult is one job checked by submit --dry-run.
type dryRunResult struct {
	status *backends.Status
	native any
	verb   string
}

// dryRun checks job (already checked for fidelity and stamped) as mode
// says; refusals are the errors submit would return, exit codes included.
func dryRun(ctx context.Context, b backends.Backend, job *jobspec.Job, mode, ifExists string, stderr io.Writer) (*dryRunResult, error) {
	r, err := b.Render(job)
	if err != nil {
		return nil, err
	}
	res := &dryRunResult{status: plannedStatus(b, job), native: r.Native, verb: "created (dry run)"}
	if mode == dryRunClient {
		return res, nil
	}
	dr, ok := b.(backends.DryRunner)
	if !ok {
		return nil, usagef("--dry-run=server: the %s backend has no server to ask; --dry-run=client checks what can be checked here", b.Info().Name)
	}
	res.verb = "created (server dry run)"
	out, err := dr.DryRun(ctx, job)
	if err != nil && errors.Is(err, backends.ErrAlreadyExists) && ifExists != "fail" && job.Name != "" {
		return dryRunExisting(ctx, b, job, ifExists, res)
	}
	if err != nil {
		return nil, err
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", b.Info().Name, w)
	}
	res.status = out.Status
	if out.Native != nil {
		res.native = out.Native
	}
	return res, nil
}

// dryRunExisting says what --if-exists would do with a job of that name,
// doing none of it.
func dryRunExisting(ctx context.Context, b backends.Backend, job *jobspec.Job, ifExists string, res *dryRunResult) (*dryRunResult, error) {
	ref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
	if ifExists == "replace" {
		res.verb = "replaced (server dry run: it exists and would be deleted first)"
		return res, nil
	}
	gone, err := sameSpec(ctx, b, job, ref)
	if err != nil {
		return nil, err
	}
	if !gone {
		res.verb = "attached (server dry run: it exists with the same spec)"
		if st, err := b.Status(ctx, ref); err == nil {
			res.status = st
		}
	}
	return res, nil
}

// plannedStatus is the status job would have once submitted: Pending, or
// suspended, its name "" plus a * when the server would generate it.
func plannedStatus(b backends.Backend, job *jobspec.Job) *backends.Status {
	now := time.Now()
	st := &backends.Status{Name: job.Name, Namespace: job.Namespace, Backend: b.Info().Name, Phase: backends.Pending,
		Completions: job.Completions, Parallelism: job.Parallelism, CompletionMode: string(job.CompletionMode),
		CreationTime: &now, Labels: job.Labels}
	if st.Name == "" {
		st.Name = job.GenerateName + "*"
	}
	if job.Suspend {
		st.Reason, st.Message = backends.ReasonSuspended, "Job suspended"
	}
	return st
}

// printDryRuns prints what --dry-run checked: the native objects for yaml
// and json (as kubectl prints the object it would create), else a line
// per job.
func printDryRuns(c *cli.Context, sw statusWriter, format string, results []*dryRunResult) error {
	out := c.App.Writer
	switch {
	case format == outYAML:
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(out, "---")
			}
			if err := writeYAML(out, r.native); err != nil {
				return err
			}
		}
		return nil
	case format == outJSON && len(results) == 1:
		return writeJSON(out, results[0].native)
	case format == outJSON:
		natives := make([]any, len(results))
		for i, r := range results {
			natives[i] = r.native
		}
		return writeJSON(out, natives)
	}
	sts := make([]*backends.Status, len(results))
	for i, r := range results {
		sts[i] = r.status
	}
	switch {
	case c.Bool("quiet"):
		for _, st := range sts {
			fmt.Fprintln(out, sw.name(st))
		}
		return nil
	case format == "":
		for i, st := range sts {
			fmt.Fprintf(out, "job/%s %s\n", sw.name(st), results[i].verb)
		}
		return nil
	}
	return sw.write(sts, false)
}
