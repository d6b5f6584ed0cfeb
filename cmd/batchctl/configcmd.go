package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "inspect batchctl's configuration",
		Subcommands: []*cli.Command{{
			Name:  "view",
			Usage: "show every setting in force and where it came from (secrets redacted)",
			Description: "Layers, later winning: built-in defaults, the config file, the selected context,\n" +
				"BATCHCTL_* environment variables, command-line flags.",
			Flags: append(connectionFlags(), outputFlag("table, json, yaml (default table)")),
			Action: action(func(c *cli.Context) error {
				format := c.String("output")
				if format == "" {
					format = outTable
				}
				if err := checkOutput(format, outTable, outJSON, outYAML); err != nil {
					return err
				}
				res, err := loadSettings(c)
				if err != nil {
					return usageError{err.Error()}
				}
				values := res.Values
				for i := range values {
					if values[i].Secret && values[i].Value != "" {
						values[i].Value = "<redacted>"
					}
					if values[i].Source == "" {
						values[i].Source = "unset"
					}
				}
				view := struct {
					File          string `json:"file"`
					Context       string `json:"context"`
					ContextSource string `json:"contextSource,omitempty"`
					Values        any    `json:"values"`
				}{res.File, res.Settings.Context, res.ContextSource, values}
				switch format {
				case outJSON:
					return writeJSON(c.App.Writer, view)
				case outYAML:
					return writeYAML(c.App.Writer, view)
				}
				w := c.App.Writer
				ctx := orDash(res.Settings.Context)
				if res.ContextSource != "" {
					ctx += " (from " + res.ContextSource + ")"
				}
				fmt.Fprintf(w, "file:    %s\ncontext: %s\n\n", orDash(res.File), ctx)
				tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
				fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
				for _, v := range values {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, orDash(v.Value), v.Source)
				}
				return tw.Flush()
			}),
		}},
	}
}
