package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the backend's own state (local: the state directory) and, with --repair, fix it",
		Description: "Reports unreadable job records, names without jobs, jobs without names and files left by\n" +
			"interrupted commands. --repair moves unreadable jobs aside (their logs kept) so every other job\n" +
			"works, and removes leftovers. Exit 0 when nothing is wrong (or all was repaired), 3 otherwise.",
		Flags: append(connectionFlags(),
			&cli.BoolFlag{Name: "repair", Usage: "fix what can be fixed without losing a readable job"},
		),
		Action: action(func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("doctor takes no arguments")
			}
			b, _, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			d, ok := b.(backends.Doctor)
			if !ok {
				fmt.Fprintf(c.App.Writer, "%s: no state of its own to check\n", b.Info().Name)
				return nil
			}
			n, err := d.Doctor(c.Context, c.Bool("repair"), c.App.Writer)
			if err != nil {
				return err
			}
			if n > 0 {
				return &backends.Error{Kind: backends.ErrUnavailable, Op: "doctor", Msg: fmt.Sprintf("%d problems remain", n)}
			}
			return nil
		}),
	}
}
