package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Aliases:   []string{"rm"},
		Usage:     "delete jobs, stopping what still runs; their logs go with them",
		ArgsUsage: "NAME... | -l SELECTOR | --all | --phase Succeeded,Failed",
		Description: "Stops what still runs and removes the jobs. Select them by name, by label (-l), all of them\n" +
			"(--all), or by phase: `delete --phase Succeeded,Failed` cleans up finished jobs.",
		Flags: append(append(connectionFlags(),
			&cli.BoolFlag{Name: "ignore-not-found", Usage: "a missing job is not an error"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing"},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "return only once the job is gone"},
			timeoutFlag(),
		), selectionFlags("delete")...),
		Action: action(func(c *cli.Context) error {
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			sel, err := parseSelection(c, s, "delete")
			if err != nil {
				return err
			}
			refs := sel.refs
			if len(refs) == 0 || len(sel.phases) > 0 {
				found, _, err := sel.resolve(c.Context, b, s)
				if err != nil {
					return err
				}
				refs = nil
				for _, st := range found {
					refs = append(refs, backends.Ref{Name: st.Name, Namespace: st.Namespace})
				}
				if len(refs) == 0 && !c.Bool("quiet") {
					fmt.Fprintln(c.App.ErrWriter, "no jobs found")
				}
			}
			named := len(sel.refs) > 0 && len(sel.phases) == 0
			var firstErr error
			for i, ref := range refs {
				kind, arg := "job", ""
				if named {
					arg = c.Args().Get(i) // cronjob/NAME, or a NAME no Job has: a CronJob (cronjob.go)
				}
				var err error
				if !isCronArg(arg) {
					err = b.Delete(c.Context, ref)
				}
				if isCronArg(arg) || cronExists(c, b, s, arg, err) {
					kind = "cronjob"
					err = deleteCron(c, b, ref, c.Bool("wait"), c.Duration("timeout"))
				} else if err == nil && c.Bool("wait") {
					err = waitGone(c.Context, b, ref, c.Duration("timeout"))
				}
				switch {
				case err == nil:
					if !c.Bool("quiet") {
						fmt.Fprintf(c.App.Writer, "%s/%s deleted\n", kind, refArg(ref, s, b.Info()))
					}
				case errors.Is(err, backends.ErrNotFound) && c.Bool("ignore-not-found"):
				default:
					if firstErr == nil {
						firstErr = err
					} else {
						fmt.Fprintln(c.App.ErrWriter, message(commandPath(c), err))
					}
				}
			}
			return firstErr
		}),
	}
}

// waitGone watches ref until the platform reports it gone (some delete
// asynchronously, as Kubernetes' garbage collector does).
func waitGone(ctx context.Context, b backends.Backend, ref backends.Ref, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := b.Watch(ctx, ref, func(*backends.Status) bool { return false })
	switch {
	case errors.Is(err, backends.ErrNotFound):
		return nil
	case ctx.Err() != nil:
		return timeoutError{fmt.Sprintf("job %s still exists after %s", ref.Name, timeout)}
	}
	return err
}
