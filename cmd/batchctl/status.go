package main

import (
	"fmt"
	"reflect"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show a job's normalized status",
		ArgsUsage: "NAME",
		Description: "Prints the job's phase and succeeded/failed/active counts, the same on every backend.\n" +
			"--watch prints again on every change (one JSON object per line with -o json) until the job finishes.",
		Flags: append(connectionFlags(),
			outputFlag("table, wide, json, yaml, name (default table)"),
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "print every change until the job finishes"},
			&cli.BoolFlag{Name: "retries", Usage: "also the job's retries (batchctl retry), with the combined outcome"},
		),
		Action: action(func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			format := c.String("output")
			if format == "" {
				format = outTable
			}
			if err := checkOutput(format, outTable, outWide, outJSON, outYAML, outName); err != nil {
				return err
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			if isCronArg(name) {
				return showCron(c, b, s, name, format, c.Bool("watch")) // cronjob.go
			}
			ref := refFor(name, s)
			if c.Bool("retries") {
				return familyStatus(c, b, s, ref, format)
			}
			if !c.Bool("watch") {
				st, err := b.Status(c.Context, ref)
				if cronFallback(name, b, err) {
					return showCronOr(c, b, s, name, format, err)
				}
				if err != nil {
					return err
				}
				return newStatusWriter(c, format, s, b.Info()).one(st)
			}
			err = watchStatus(c, b, ref, newStatusWriter(c, format, s, b.Info()))
			if cronFallback(name, b, err) {
				return showCronOr(c, b, s, name, format, err)
			}
			return err
		}),
	}
}

// watchStatus prints the status on every change until the job finishes. The
// table header is printed once; JSON is one object per line.
func watchStatus(c *cli.Context, b backends.Backend, ref backends.Ref, sw statusWriter) error {
	format := sw.format
	var last *backends.Status
	var werr error
	first := true
	err := b.Watch(c.Context, ref, func(st *backends.Status) bool {
		if last != nil && sameCounts(last, st) {
			return st.Phase.Terminal()
		}
		last = st
		switch format {
		case outJSON:
			werr = compactJSON(c.App.Writer, versioned(st))
		case outYAML:
			if !first {
				fmt.Fprintln(c.App.Writer, "---")
			}
			werr = writeYAML(c.App.Writer, st)
		case outTable, outWide:
			werr = writeTableRows(c.App.Writer, st, format == outWide, first)
		default:
			werr = sw.one(st)
		}
		first = false
		return werr != nil || st.Phase.Terminal()
	})
	if werr != nil {
		return werr
	}
	return err
}

// sameCounts ignores fields that change without news (attempt timings).
func sameCounts(a, b *backends.Status) bool {
	return a.Phase == b.Phase && a.Active == b.Active && a.Succeeded == b.Succeeded && a.Failed == b.Failed &&
		a.Reason == b.Reason && a.Message == b.Message && reflect.DeepEqual(a.CompletionTime, b.CompletionTime)
}

// familyStatus prints a job and its retries, and their combined outcome.
func familyStatus(c *cli.Context, b backends.Backend, s settings, ref backends.Ref, format string) error {
	fam, err := family(c.Context, b, s, ref)
	if err != nil {
		return err
	}
	all := append([]*backends.Status{fam.orig}, fam.retries...)
	if format == outJSON || format == outYAML {
		v := struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Job        versionedStatus   `json:"job"`
			Retries    []versionedStatus `json:"retries"`
			Completed  bool              `json:"completed"`
			Remaining  string            `json:"remaining,omitempty"`
			Summary    string            `json:"summary"`
		}{outputAPIVersion, "JobFamily", versioned(fam.orig), versionedList(fam.retries), fam.done(), "", fam.summary()}
		if fam.orig.CompletionMode == "Indexed" {
			v.Remaining = backends.FormatIndexes(fam.remaining())
		}
		if format == outJSON {
			return writeJSON(c.App.Writer, v)
		}
		return writeYAML(c.App.Writer, v)
	}
	if err := newStatusWriter(c, format, s, b.Info()).write(all, true); err != nil {
		return err
	}
	if format != outName {
		fmt.Fprintf(c.App.ErrWriter, "job/%s: %s\n", refArg(ref, s, b.Info()), fam.summary())
	}
	return nil
}
