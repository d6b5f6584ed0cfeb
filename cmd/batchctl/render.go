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
				return renderCron(c, b, s, cron, format) // cronjob.go
			}
			if len(jobs) > 1 && c.IsSet("name") {
				return usagef("render: --name names one job; the file holds %d", len(jobs))
			}
			var natives []any
			var fidelity []backends.Fidelity
			for _, job := range jobs {
				if err := applyOverrides(c, job, s); err != nil {
					return err
				}
				r, err := b.Render(job)
				if err != nil {
					return err
				}
				natives = append(natives, r.Native)
				fidelity = append(fidelity, r.Fidelity...)
			}
			if format == "" {
				format = b.Info().NativeFormat
			}
			switch {
			case format == outJSON && len(natives) == 1:
				err = writeJSON(c.App.Writer, natives[0])
			case format == outJSON:
				err = writeJSON(c.App.Writer, natives)
			default:
				for i, n := range natives {
					if i > 0 {
						fmt.Fprintln(c.App.Writer, "---")
					}
					if err = writeYAML(c.App.Writer, n); err != nil {
						break
					}
				}
			}
			if err != nil {
				return err
			}
			r := &backends.Rendering{Fidelity: fidelity}
			if len(r.Fidelity) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s: every field is honoured\n", b.Info().Name)
			}
			return reportFidelity(c.App.ErrWriter, b.Info().Name, r.Fidelity, c.Bool("strict"), allowApproximate(c, s), s.Bool(backends.QuietNotesKey), false)
		}),
	}
}
