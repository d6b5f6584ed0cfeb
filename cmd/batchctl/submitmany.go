package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// submitMany submits every Job of a multi-document manifest. Each is
// checked (overrides, fidelity) before any is submitted, so a file with
// one bad Job submits nothing, as kubectl apply of an invalid file does.
// Submission itself stops at the first refusal and names what was created
// before it. With --wait the jobs are waited for together, as `wait`
// waits for several.
func submitMany(c *cli.Context, b backends.Backend, s settings, jobs []*jobspec.Job, format, mode string) error {
	if c.IsSet("name") {
		return usagef("submit: --name names one job, and the manifest holds %d", len(jobs))
	}
	if c.Bool("follow") {
		return usagef("submit: --follow streams one job's logs, and the manifest holds %d; use --wait, then logs", len(jobs))
	}
	ifExists := c.String("if-exists")
	if err := checkOutput(ifExists, "fail", "attach", "replace"); err != nil {
		return usagef("--if-exists %q: want fail, attach or replace", ifExists)
	}
	seen := map[backends.Ref]int{}
	notes := &onceWriter{w: c.App.ErrWriter, seen: map[string]bool{}}
	for i, job := range jobs {
		if err := applyOverrides(c, job, s); err != nil {
			return fmt.Errorf("job %d of %d: %w", i+1, len(jobs), err)
		}
		if job.Name != "" {
			ref := backends.Ref{Name: job.Name, Namespace: job.Namespace}
			if j, dup := seen[ref]; dup {
				return usagef("jobs %d and %d of the manifest are both named %s", j, i+1, job.Name)
			}
			seen[ref] = i + 1
		}
		if err := checkFidelity(b, job, c.Bool("strict"), allowApproximate(c, s), quietNotes(c, s), notes); err != nil {
			return fmt.Errorf("job %d of %d (%s): %w", i+1, len(jobs), jobLabel(job), err)
		}
		if err := stamp(job); err != nil {
			return err
		}
	}
	out := c.App.Writer
	sw := newStatusWriter(c, format, s, b.Info())
	if mode != dryRunNone {
		var results []*dryRunResult
		for i, job := range jobs {
			res, err := dryRun(c.Context, b, job, mode, ifExists, c.App.ErrWriter)
			if err != nil {
				return fmt.Errorf("job %d of %d (%s): %w", i+1, len(jobs), jobLabel(job), err)
			}
			results = append(results, res)
		}
		return printDryRuns(c, sw, format, results)
	}
	waiting := c.Bool("wait")
	var created []*backends.Status
	for i, job := range jobs {
		st, verb, err := submitIfExists(c.Context, b, job, ifExists)
		if err != nil {
			if len(created) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "submit: %d of %d jobs were submitted before job %d (%s) was refused\n", len(created), len(jobs), i+1, jobLabel(job))
			}
			return err
		}
		created = append(created, st)
		switch {
		case c.Bool("quiet"):
			fmt.Fprintln(out, sw.name(st))
		case format == "":
			fmt.Fprintf(out, "job/%s %s\n", sw.name(st), verb)
		case format == outName:
			if err := sw.one(st); err != nil {
				return err
			}
		}
	}
	if !waiting {
		if format != "" && format != outName && !c.Bool("quiet") {
			return sw.write(created, true)
		}
		return nil
	}
	sel := selection{}
	for _, st := range created {
		sel.refs = append(sel.refs, backends.Ref{Name: st.Name, Namespace: st.Namespace})
	}
	if c.Bool("quiet") || format == outName {
		format = ""
	}
	return waitMany(c, b, s, sel, format)
}

// jobLabel names a job not yet submitted: its name, or its generateName.
func jobLabel(job *jobspec.Job) string {
	if job.Name != "" {
		return job.Name
	}
	return job.GenerateName + "…"
}

// onceWriter drops writes it has seen: a fidelity note that holds for
// every job of a manifest is printed once, not once per job.
type onceWriter struct {
	w    io.Writer
	seen map[string]bool
}

func (o *onceWriter) Write(p []byte) (int, error) {
	if o.seen[string(p)] {
		return len(p), nil
	}
	o.seen[string(p)] = true
	return o.w.Write(p)
}
