package main

import (
	"fmt"

	"github.com/batchctl/batchctl/backends"
	"github.com/urfave/cli/v2"
)

func renderCommand() *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "print the native object a backend would send, and on stderr what it cannot honour",
		ArgsUsage: "FILE|-",
		Description: "Nothing is submitted and no backend is contacted. The fidelity report on stderr names every\n" +
			"field the backend emulates, approximates or ignores; --strict makes the last two an error (exit 2).",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "name", Usage: "job name, as submit --name"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "KEY=VALUE, as submit --env"},
			&cli.BoolFlag{Name: "strict", Usage: "exit 2 when anything is approximated or unsupported"},
			allowApproximateFlag(),
			outputFlag("yaml or json (default: the platform's own, json for nomad, yaml otherwise)"),
		),
		Action: action(func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("render: one FILE (or - for stdin) is required")
			}
			format := c.String("output")
			if format != "" {
				if err := checkOutput(format, outYAML, outJSON); err != nil {
					return err
				}
			}
			job, err := loadJob(c.Args().First(), c.App.Reader)
			if err != nil {
				return err
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := applyOverrides(c, job, s); err != nil {
				return err
			}
			r, err := b.Render(job)
			if err != nil {
				return err
			}
			if format == "" {
				format = b.Info().NativeFormat
			}
			if format == outJSON {
				err = writeJSON(c.App.Writer, r.Native)
			} else {
				err = writeYAML(c.App.Writer, r.Native)
			}
			if err != nil {
				return err
			}
			if len(r.Fidelity) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s: every field is honoured\n", b.Info().Name)
			}
			return reportFidelity(c.App.ErrWriter, b.Info().Name, r.Fidelity, c.Bool("strict"), allowApproximate(c, s), s.Bool(backends.QuietNotesKey), false)
		}),
	}
}
