package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Aliases:   []string{"rm"},
		Usage:     "delete jobs, stopping what still runs; their logs go with them",
		ArgsUsage: "NAME...",
		Flags: append(connectionFlags(),
			&cli.BoolFlag{Name: "ignore-not-found", Usage: "a missing job is not an error"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing"},
		),
		Action: action(func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("delete: at least one job NAME is required")
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			var firstErr error
			for _, name := range c.Args().Slice() {
				ref := refFor(name, s)
				err := b.Delete(c.Context, ref)
				switch {
				case err == nil:
					if !c.Bool("quiet") {
						fmt.Fprintf(c.App.Writer, "job/%s deleted\n", ref.Name)
					}
				case errors.Is(err, backends.ErrNotFound) && c.Bool("ignore-not-found"):
				default:
					if firstErr == nil {
						firstErr = err
					} else {
						fmt.Fprintln(c.App.ErrWriter, message(err))
					}
				}
			}
			return firstErr
		}),
	}
}
