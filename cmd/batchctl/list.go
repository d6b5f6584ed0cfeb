package main

import (
	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"ls"},
		Usage:   "list the jobs batchctl manages",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "label selector, e.g. team=data,tier!=test"},
			&cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "list jobs in every namespace"},
			outputFlag("table, wide, json (an array), yaml, name (default table)"),
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
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			sts, err := b.List(c.Context, backends.ListOptions{Namespace: s.Namespace, AllNamespaces: c.Bool("all-namespaces"), Selector: sel})
			if err != nil {
				return err
			}
			if len(sts) == 0 && (format == outTable || format == outWide) {
				c.App.ErrWriter.Write([]byte("no jobs found\n"))
				return nil
			}
			return newStatusWriter(c, format, s, b.Info()).write(sts, true)
		}),
	}
}
