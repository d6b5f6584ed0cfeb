package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

var errTimedOut = errors.New("timed out")

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until jobs succeed or fail (for cronjob/NAME: its next Job); the exit code tells which",
		ArgsUsage: "NAME... | -l SELECTOR | --all",
		Description: "Waits for the jobs to finish, succeeded or failed: exit 0 when all succeeded, 1 when any failed\n" +
			"(at the first failure with --fail-fast), 4 when a job does not exist or is deleted meanwhile.\n" +
			"Many jobs are followed with one watch; a line per finished job goes to stderr, and -o json prints\n" +
			"a summary. --timeout gives up with exit 5; Ctrl-C gives up with exit 130. Neither touches a job.",
		Flags: append(append(connectionFlags(), timeoutFlag(),
			outputFlag("print the final status: json, yaml, table, wide, name (default: nothing)"),
			&cli.BoolFlag{Name: "fail-fast", Usage: "with many jobs: stop at the first failure (exit 1)"},
			&cli.BoolFlag{Name: "retries", Usage: "wait for NAME and its retries (batchctl retry): exit 0 once its work completed in some job"},
			&cli.StringFlag{Name: "for", Usage: "delete: until the named jobs (or cronjob/NAME) are gone; create: until cronjob/NAME creates its next Job; suspended: until the named jobs are suspended with no pod left (as kubectl wait --for)"}),
			selectionFlags("wait for")...),
		Action: action(func(c *cli.Context) error {
			format := c.String("output")
			if format != "" {
				if err := checkOutput(format, outTable, outWide, outJSON, outYAML, outName); err != nil {
					return err
				}
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			if f := c.String("for"); f != "" {
				return waitFor(c, b, s, f, format) // cronjob.go
			}
			if c.NArg() == 1 && isCronArg(c.Args().First()) {
				return waitCron(c, b, s, c.Args().First(), format) // cronjob.go: its next Job
			}
			sel, err := parseSelection(c, s, "wait")
			if err != nil {
				return err
			}
			if c.Bool("retries") {
				if len(sel.refs) != 1 {
					return usagef("wait --retries takes one job NAME")
				}
				return waitFamily(c, b, s, sel.refs[0])
			}
			if len(sel.refs) != 1 || len(sel.phases) > 0 {
				return waitMany(c, b, s, sel, format)
			}
			st, err := waitJob(c.Context, b, sel.refs[0], c.Duration("timeout"), c.App.ErrWriter)
			if arg := c.Args().First(); st == nil && cronFallback(arg, b, err) {
				if _, _, cerr := cronStatusOf(c, b, s, arg, false, err); cerr == nil {
					return waitCron(c, b, s, "cronjob/"+arg, format)
				}
			}
			if st != nil && format != "" {
				if werr := newStatusWriter(c, format, s, b.Info()).one(st); werr != nil {
					return werr
				}
			}
			return err
		}),
	}
}

// waitJob watches ref until it is finished. It returns the last status seen
// and: nil if it succeeded, jobFailedError if it failed, timeoutError or
// interruptedError if we stopped waiting first. It never changes the job.
func waitJob(ctx context.Context, b backends.Backend, ref backends.Ref, timeout time.Duration, stderr io.Writer) (*backends.Status, error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errTimedOut)
		defer cancel()
	}
	var (
		mu   sync.Mutex
		last *backends.Status
	)
	if isTerminal(stderr) {
		defer showProgress(stderr, func() *backends.Status {
			mu.Lock()
			defer mu.Unlock()
			return last
		})()
	}
	err := b.Watch(ctx, ref, func(st *backends.Status) bool {
		mu.Lock()
		last = st
		mu.Unlock()
		return st.Phase.Terminal()
	})
	if err != nil {
		if ctx.Err() == nil {
			return last, err
		}
		still := ""
		if last != nil {
			still = fmt.Sprintf(" (still %s: %d active, %d succeeded, %d failed)", last.Phase, last.Active, last.Succeeded, last.Failed)
			if last.Message != "" {
				still += ": " + last.Message // why it waits, where the backend says
			}
		}
		if errors.Is(context.Cause(ctx), errTimedOut) {
			return last, timeoutError{fmt.Sprintf("timed out after %s waiting for job %s%s; it keeps running", timeout, ref.Name, still)}
		}
		return last, interruptedError{fmt.Sprintf("interrupted; job %s is left running%s: `batchctl wait %s` resumes", ref.Name, still, ref.Name)}
	}
	if last == nil {
		return nil, fmt.Errorf("watch of job %s ended without a status", ref.Name)
	}
	if last.Phase == backends.Failed {
		return last, jobFailedError{last}
	}
	return last, nil
}

// showProgress redraws one status line on the terminal every 200ms, so the
// elapsed time moves even while nothing changes. The returned func stops it
// and leaves the final line when the job finished, else clears it.
func showProgress(w io.Writer, current func() *backends.Status) (stop func()) {
	started := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if st := current(); st != nil {
				fmt.Fprintf(w, "\r\033[K%s", progressLine(st, time.Since(started)))
			}
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				if st := current(); st != nil && st.Phase.Terminal() {
					fmt.Fprintln(w, progressLine(st, time.Since(started)))
				}
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// waitSuspended waits until each named Job is suspended and its pods are
// gone (kubectl wait --for=condition=Suspended): suspend only asks, and the
// job's controller gets to it. A job that finishes first is exit 1.
func waitSuspended(c *cli.Context, b backends.Backend, s settings) error {
	if c.NArg() == 0 {
		return usagef("wait --for suspended: name the jobs (NAME...)")
	}
	ctx, cancel := waitContext(c)
	defer cancel()
	for _, arg := range c.Args().Slice() {
		var last *backends.Status
		err := b.Watch(ctx, refFor(arg, s), func(st *backends.Status) bool {
			last = st
			return st.Phase.Terminal() || (st.Reason == backends.ReasonSuspended && st.Active == 0)
		})
		switch {
		case err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), errTimedOut):
			return timeoutError{fmt.Sprintf("timed out after %s: job %s is not suspended", c.Duration("timeout"), arg)}
		case err != nil && ctx.Err() != nil:
			return interruptedError{"interrupted waiting for job " + arg + " to be suspended"}
		case err != nil:
			return err
		case last.Phase.Terminal():
			return jobFailedError{&backends.Status{Name: last.Name, Reason: "NotSuspended", Message: fmt.Sprintf("it %s before it was suspended", strings.ToLower(string(last.Phase)))}}
		}
	}
	return nil
}
