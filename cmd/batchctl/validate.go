package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check Job and CronJob manifests (each may hold several Jobs: --- documents or a List) without submitting them",
		ArgsUsage: "FILE|-...",
		Description: "Checks each manifest against Kubernetes' schema and validation rules. Problems are printed\n" +
			"one per line as FILE:LINE:COL: FIELD: MESSAGE, all of them at once; any problem exits 2.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only problems"}},
		Action: action(func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("validate: at least one FILE (or - for stdin) is required")
			}
			var firstErr error
			for _, path := range c.Args().Slice() {
				ms, err := loadManifests(path, c.App.Reader)
				if err != nil {
					if firstErr != nil {
						fmt.Fprintln(c.App.ErrWriter, message(commandPath(c), firstErr))
					}
					firstErr = err
					continue
				}
				for _, m := range ms {
					if !c.Bool("quiet") {
						source, name, generate := manifestName(m)
						if name == "" {
							name = generate + "*"
						}
						fmt.Fprintf(c.App.Writer, "%s: valid %s %s\n", source, m.Kind(), name)
					}
				}
			}
			return firstErr
		}),
	}
}
