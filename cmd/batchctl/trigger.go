package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func triggerCommand() *cli.Command {
	return &cli.Command{
		Name:      "trigger",
		Usage:     "create a Job from a CronJob now, as kubectl create job --from=cronjob/NAME",
		ArgsUsage: "NAME",
		Description: "Creates a Job from the CronJob's template at once, whatever its schedule, suspension or\n" +
			"concurrency policy, annotated cronjob.kubernetes.io/instantiate: manual and owned by the CronJob\n" +
			"(its history limits apply; it is not one of its active runs). --wait and --follow as submit's.",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "name", Usage: "the Job's name (default: NAME-manual- and 5 random characters)"},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait for the job to finish; exit code tells the outcome"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "wait and stream the job's logs to stdout"},
			timeoutFlag(),
			outputFlag("json, yaml, name, table, wide (default: job/NAME created)"),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the job name"},
		),
		Action: action(func(c *cli.Context) error {
			arg, err := oneName(c)
			if err != nil {
				return err
			}
			format := c.String("output")
			if format != "" {
				if err := checkOutput(format, outTable, outWide, outJSON, outYAML, outName); err != nil {
					return err
				}
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			ref := cronRef(arg, s)
			if k, _ := splitKind(arg); k == kindJob {
				return usagef("trigger takes a CronJob, not %s", arg)
			}
			sch, err := schedulerOf(b, "trigger", ref)
			if err != nil {
				return err
			}
			st, err := sch.TriggerCronJob(c.Context, ref, c.String("name"))
			if err != nil {
				return err
			}
			sw := newStatusWriter(c, format, s, b.Info())
			follow := c.Bool("follow")
			waiting := follow || c.Bool("wait")
			out := c.App.Writer
			switch {
			case c.Bool("quiet"):
				fmt.Fprintln(out, sw.name(st))
			case format == "" && follow:
				fmt.Fprintf(c.App.ErrWriter, "job/%s created\n", sw.name(st))
			case format == "":
				fmt.Fprintf(out, "job/%s created\n", sw.name(st))
			case !waiting || format == outName:
				if err := sw.one(st); err != nil {
					return err
				}
			}
			if !waiting {
				return nil
			}
			jref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
			multi := st.Completions > 1 || st.Parallelism > 1
			final, err := waitAndFollow(c.Context, b, jref, c, follow, multi)
			if final != nil && format != "" && format != outName && !c.Bool("quiet") {
				if werr := sw.one(final); werr != nil {
					return werr
				}
			}
			return err
		}),
	}
}
