package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/config"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "inspect batchctl's configuration",
		Subcommands: []*cli.Command{{
			Name:  "view",
			Usage: "show every setting in force and where it came from (secrets redacted)",
			Description: "Layers, later winning: the config file, the selected context, BATCHCTL_* environment\n" +
				"variables, command-line flags. A setting none of them sets comes from the platform's own\n" +
				"convention (NOMAD_ADDR, KUBECONFIG and its current-context, XDG_STATE_HOME), else its default.",
			Flags: append(connectionFlags(), outputFlag("table, json, yaml (default table)")),
			Action: action(func(c *cli.Context) error {
				format := c.String("output")
				if format == "" {
					format = outTable
				}
				if err := checkOutput(format, outTable, outJSON, outYAML); err != nil {
					return err
				}
				s, err := loadSettings(c)
				if err != nil {
					return err
				}
				values := s.Values()
				for i := range values {
					if values[i].Secret && values[i].Value != "" {
						values[i].Value = config.Redacted
					}
				}
				view := struct {
					File          string         `json:"file"`
					Context       string         `json:"context"`
					ContextSource string         `json:"contextSource,omitempty"`
					Values        []config.Value `json:"values"`
				}{s.File, s.Context, s.ContextSource, values}
				switch format {
				case outJSON:
					return writeJSON(c.App.Writer, view)
				case outYAML:
					return writeYAML(c.App.Writer, view)
				}
				w := c.App.Writer
				ctx := orDash(s.Context)
				if s.ContextSource != "" {
					ctx += " (from " + s.ContextSource + ")"
				}
				fmt.Fprintf(w, "file:    %s\ncontext: %s\n\n", orDash(s.File), ctx)
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
