package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func suspendCommand() *cli.Command {
	return suspendResume("suspend", "suspend a job (its pods stop without counting as failures) or a CronJob (it creates no Job), until resume",
		func(sp backends.Suspender) func(context.Context, backends.Ref) error { return sp.Suspend })
}

func resumeCommand() *cli.Command {
	return suspendResume("resume", "resume a suspended job (its activeDeadlineSeconds counts from now) or CronJob (a lost local scheduler starts again)",
		func(sp backends.Suspender) func(context.Context, backends.Ref) error { return sp.Resume })
}

// suspendResume builds the two commands, which differ only in the call.
func suspendResume(name, usage string, call func(backends.Suspender) func(context.Context, backends.Ref) error) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "NAME",
		Flags: append(connectionFlags(),
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing"},
		),
		Action: action(func(c *cli.Context) error {
			arg, err := oneName(c)
			if err != nil {
				return err
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			ref := refFor(arg, s)
			if isCronArg(arg) {
				return suspendCron(c, b, ref, name) // cronjob.go
			}
			if _, ok := b.(backends.Scheduler); ok {
				if _, err := b.Status(c.Context, ref); cronExists(c, b, s, arg, err) {
					return suspendCron(c, b, ref, name) // no Job of that name
				}
			}
			// A backend that cannot suspend may still implement Suspender to
			// say why (nomad).
			sp, ok := b.(backends.Suspender)
			if !ok {
				return &backends.Error{Kind: backends.ErrInvalid, Op: name, Ref: ref,
					Msg: fmt.Sprintf("the %s backend cannot suspend or resume jobs", b.Info().Name)}
			}
			if err := call(sp)(c.Context, ref); err != nil {
				return err
			}
			if !c.Bool("quiet") {
				fmt.Fprintf(c.App.Writer, "job/%s %s\n", arg, strings.TrimSuffix(name, "e")+"ed")
			}
			return nil
		}),
	}
}
