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
		Usage:   "list the jobs batchctl manages",
		Description: "--watch prints the list, then one line per job that changes (JSON Lines with -o json), until\n" +
			"interrupted.",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label selector, e.g. team=data,tier!=test, env in (a,b)"},
			&cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "list jobs in every namespace"},
			&cli.StringFlag{Name: "phase", Usage: "only jobs in these phases: Pending, Running, Succeeded, Failed (comma-separated)"},
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
			all, err := b.List(c.Context, opts)
			if err != nil {
				return err
			}
			var sts []*backends.Status
			for _, st := range all {
				if keep.matches(st, "") {
					sts = append(sts, st)
				}
			}
			if len(sts) == 0 && (format == outTable || format == outWide) {
				c.App.ErrWriter.Write([]byte("no jobs found\n"))
				return nil
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
