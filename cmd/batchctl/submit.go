package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

func submitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "submit a Job manifest (a file, or - for stdin) to a backend",
		ArgsUsage: "FILE|-",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "name", Usage: "job name, replacing metadata.name and generateName"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set KEY=VALUE in every container (repeatable)"},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait for the job to finish; exit code tells the outcome"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "wait and stream the job's logs to stdout"},
			timeoutFlag(),
			&cli.BoolFlag{Name: "strict", Usage: "refuse a job using fields the backend cannot honour"},
			allowApproximateFlag(),
			&cli.StringFlag{Name: "if-exists", Value: "fail", Usage: "when a job of that name exists: fail (exit 6), attach (to it, if its spec is the same; else exit 6 naming the fields that differ), replace (delete it, then submit)"},
			outputFlag("json, yaml, name, table, wide (default: job/NAME created)"),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the job name"},
			dryRunFlag(),
		),
		Action: action(submit),
	}
}

func submit(c *cli.Context) error {
	mode, err := dryRunMode(c) // first: a bare --dry-run takes FILE as its value
	if err != nil {
		return err
	}
	if c.NArg() != 1 {
		return usagef("submit: one FILE (or - for stdin) is required")
	}
	format := c.String("output")
	if format != "" {
		if err := checkOutput(format, outTable, outWide, outJSON, outYAML, outName); err != nil {
			return err
		}
	}
	jobs, cron, err := loadJobsOrCron(c.Args().First(), c.App.Reader)
	if err != nil {
		return err
	}
	b, s, err := openBackend(c)
	if err != nil {
		return err
	}
	defer b.Close()
	if cron != nil {
		return submitCron(c, b, s, cron, format, mode) // cronjob.go
	}
	if len(jobs) > 1 {
		return submitMany(c, b, s, jobs, format, mode)
	}
	job := jobs[0]
	if err := applyOverrides(c, job, s); err != nil {
		return err
	}
	ifExists := c.String("if-exists")
	if err := checkOutput(ifExists, "fail", "attach", "replace"); err != nil {
		return usagef("--if-exists %q: want fail, attach or replace", ifExists)
	}
	if err := checkFidelity(b, job, c.Bool("strict"), allowApproximate(c, s), quietNotes(c, s), c.App.ErrWriter); err != nil {
		return err
	}
	if err := stamp(job); err != nil {
		return err
	}
	sw := newStatusWriter(c, format, s, b.Info())
	if mode != dryRunNone {
		res, err := dryRun(c.Context, b, job, mode, ifExists, c.App.ErrWriter)
		if err != nil {
			return err
		}
		return printDryRuns(c, sw, format, []*dryRunResult{res})
	}
	st, verb, err := submitIfExists(c.Context, b, job, ifExists)
	if err != nil {
		return err
	}
	out := c.App.Writer
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	follow := c.Bool("follow")
	waiting := follow || c.Bool("wait")
	switch {
	case c.Bool("quiet"):
		fmt.Fprintln(out, sw.name(st))
	case format == "" && follow:
		fmt.Fprintf(c.App.ErrWriter, "job/%s %s\n", sw.name(st), verb) // stdout is for the logs
	case format == "":
		fmt.Fprintf(out, "job/%s %s\n", sw.name(st), verb)
	case !waiting || format == outName:
		if err := sw.one(st); err != nil {
			return err
		}
	}
	if !waiting {
		return nil
	}
	multi := job.Completions > 1 || job.Parallelism > 1 || len(job.Template.Containers)+len(job.Template.InitContainers) > 1
	final, err := waitAndFollow(c.Context, b, ref, c, follow, multi)
	if final != nil && format != "" && format != outName && !c.Bool("quiet") {
		if werr := sw.one(final); werr != nil {
			return werr
		}
	}
	return err
}

// waitAndFollow waits for the job, streaming its logs meanwhile if follow.
func waitAndFollow(ctx context.Context, b backends.Backend, ref backends.Ref, c *cli.Context, follow, prefix bool) (*backends.Status, error) {
	if !follow {
		return waitJob(ctx, b, ref, c.Duration("timeout"), c.App.ErrWriter)
	}
	// No live progress line: it would interleave with the logs on a terminal.
	progress := io.Discard
	logCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := newLineSink(c.App.Writer, prefix, true)
	done := make(chan error, 1)
	go func() { done <- b.Logs(logCtx, ref, backends.LogOptions{Follow: true}, sink) }()
	st, err := waitJob(ctx, b, ref, c.Duration("timeout"), progress)
	if !(st != nil && st.Phase.Terminal()) {
		cancel() // we stopped waiting; stop streaming too
	}
	<-done // a following Logs returns once the finished job's streams are drained
	sink.flush()
	return st, err
}

// applyOverrides applies --name, --env and the namespace in force. A manifest
// namespace that contradicts -n is refused, as kubectl does.
func applyOverrides(c *cli.Context, job *jobspec.Job, s settings) error {
	return applyOverridesTo(c, job, job.Namespace, s)
}

// applyOverridesTo is applyOverrides of a Job or a CronJob (--env then
// reaches every container of its template), whose namespace is ns.
func applyOverridesTo(c *cli.Context, obj interface{ Apply(jobspec.Overrides) error }, ns string, s settings) error {
	o := jobspec.Overrides{Name: c.String("name")}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--env %q: want KEY=VALUE", kv)
		}
		o.Env = append(o.Env, jobspec.EnvVar{Name: k, Value: v})
	}
	switch {
	case s.Namespace == "":
	case ns == "":
		o.Namespace = s.Namespace
	case ns != s.Namespace:
		return usagef("the namespace from the manifest (%s) does not match the namespace in force (%s)", ns, s.Namespace)
	}
	if o.Name == "" && o.Namespace == "" && len(o.Env) == 0 {
		return nil
	}
	return obj.Apply(o)
}

// checkFidelity renders job to learn what the backend will not honour
// natively, reports it, and refuses what could change the outcome (unless
// allowed) or, under --strict, anything approximated.
func checkFidelity(b backends.Backend, job *jobspec.Job, strict, allow, quiet bool, stderr io.Writer) error {
	r, err := b.Render(job)
	if err != nil {
		return err
	}
	return reportFidelity(stderr, b.Info().Name, r.Fidelity, strict, allow, quiet, true)
}

// quietNotes: -q, or the quiet-notes setting.
func quietNotes(c *cli.Context, s settings) bool {
	return c.Bool("quiet") || s.Bool(backends.QuietNotesKey)
}

// allowApproximate: --allow-approximate, or the allow-approximate setting.
func allowApproximate(c *cli.Context, s settings) bool {
	return c.Bool("allow-approximate") || s.Bool(backends.AllowApproximateKey)
}

func allowApproximateFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-approximate", Usage: "run a job even where the backend's approximation could change its outcome (setting allow-approximate)"}
}

// reportFidelity prints one line per entry on stderr. With strict, any
// approximated or unsupported field is a usage error; with refuse, so is
// any entry that can change the outcome, unless allowed.
func reportFidelity(stderr io.Writer, backend string, fs []backends.Fidelity, strict, allow, quiet, refuse bool) error {
	var refused, risky []string
	for _, f := range fs {
		if !(quiet && f.Level == backends.Note) {
			fmt.Fprintf(stderr, "%s: %s: %s: %s\n", backend, f.Level, f.Field, f.Message)
		}
		if f.Refused() {
			refused = append(refused, f.Field)
		}
		if f.Outcome {
			risky = append(risky, f.Field)
		}
	}
	switch {
	case strict && len(refused) > 0:
		return usagef("--strict: the %s backend cannot honour %s", backend, strings.Join(refused, ", "))
	case refuse && !allow && len(risky) > 0:
		return usagef("the %s backend cannot honour %s as Kubernetes would, and the job's outcome could differ; "+
			"--allow-approximate (or allow-approximate: true) runs it anyway", backend, strings.Join(risky, ", "))
	case !refuse && len(risky) > 0 && !allow:
		fmt.Fprintf(stderr, "%s: submit would refuse this job without --allow-approximate: %s could change its outcome\n", backend, strings.Join(risky, ", "))
	}
	return nil
}
