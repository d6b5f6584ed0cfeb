package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the jobs and CronJobs batchctl manages",
		Description: "Jobs and CronJobs together, with a KIND column once there are CronJobs; --kind CronJob lists\n" +
			"CronJobs alone, with their schedule. --watch prints the list, then one line per job that changes\n" +
			"(JSON Lines with -o json), until interrupted; it follows Jobs only.",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label selector, e.g. team=data,tier!=test, env in (a,b)"},
			&cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "list jobs in every namespace"},
			&cli.StringFlag{Name: "phase", Usage: "only jobs in these phases: Pending, Running, Succeeded, Failed (comma-separated)"},
			&cli.StringFlag{Name: "kind", Usage: "only these kinds: Job, CronJob (comma-separated; default both)"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "after the list, print every job that changes"},
			&cli.DurationFlag{Name: "timeout", Usage: "with --watch: stop watching after this long (exit 0)"},
			outputFlag("table, wide, json (an array; JSON Lines with --watch), yaml, name (default table)"),
		),
		Action: action(func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("list takes no arguments; use -l to select by label")
			}
			format := c.String("output")
			if format == "" {
				format = outTable
			}
			if err := checkOutput(format, outTable, outWide, outJSON, outYAML, outName); err != nil {
				return err
			}
			sel, err := backends.ParseSelector(c.String("selector"))
			if err != nil {
				return usageError{err.Error()}
			}
			phases, err := parsePhases(c.String("phase"))
			if err != nil {
				return err
			}
			wantJobs, wantCrons, err := parseKinds(c.String("kind"))
			if err != nil {
				return err
			}
			if c.Bool("watch") && !wantJobs {
				return usagef("list --watch follows Jobs; `batchctl status --watch cronjob/NAME` follows a CronJob")
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			opts := backends.ListOptions{Namespace: s.Namespace, AllNamespaces: c.Bool("all-namespaces"), Selector: sel}
			keep := selection{phases: phases}
			if c.Bool("watch") {
				return watchList(c, b, opts, keep, newStatusWriter(c, format, s, b.Info()), format)
			}
			// CronJobs have no phase: --phase lists Jobs only.
			var crons []*backends.CronJobStatus
			if wantCrons && len(phases) == 0 {
				if crons, err = listCronJobs(c, b, opts); err != nil {
					return err
				}
			}
			var all []*backends.Status
			if wantJobs {
				if all, err = b.List(c.Context, opts); err != nil {
					return err
				}
			}
			var sts []*backends.Status
			for _, st := range all {
				if keep.matches(st, "") {
					sts = append(sts, st)
				}
			}
			table := format == outTable || format == outWide
			switch {
			case len(sts) == 0 && len(crons) == 0 && table:
				c.App.ErrWriter.Write([]byte("no jobs found\n"))
				return nil
			case !wantJobs && table:
				return writeCronTable(c.App.Writer, crons, format == outWide)
			case len(crons) > 0 || !wantJobs:
				return writeMixed(c, newStatusWriter(c, format, s, b.Info()), s, b.Info(), format, sts, crons)
			}
			return newStatusWriter(c, format, s, b.Info()).write(sts, true)
		}),
	}
}

// watchList prints the jobs, then each one that changes, until interrupted
// (exit 130) or --timeout (exit 0: a watch that ran its course).
func watchList(c *cli.Context, b backends.Backend, opts backends.ListOptions, keep selection, sw statusWriter, format string) error {
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if t := c.Duration("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	seen := map[string]string{}
	first := true
	wide := format == outWide
	err := watchJobs(ctx, b, opts, func(sts []*backends.Status) bool {
		for _, st := range sts {
			if !keep.matches(st, "") {
				continue
			}
			fp := fingerprintOf(st)
			if seen[jobKey(st)] == fp {
				continue
			}
			seen[jobKey(st)] = fp
			switch format {
			case outJSON:
				_ = compactJSON(sw.w, versioned(st))
			case outName, outYAML:
				_ = sw.one(st)
			default:
				_ = writeTableRows(sw.w, st, wide, first)
			}
			first = false
		}
		return false
	})
	switch {
	case ctx.Err() != nil && c.Context.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil
	case ctx.Err() != nil:
		return interruptedError{"interrupted"}
	}
	return err
}

// fingerprintOf is what a user sees change in a job's row.
func fingerprintOf(st *backends.Status) string {
	return fmt.Sprintf("%s/%s/%s/%d/%d/%d", st.UID, st.Phase, st.Reason, st.Active, st.Succeeded, st.Failed)
}
