package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

// waitSummary is `wait -o json` of many jobs.
type waitSummary struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Jobs       []versionedStatus `json:"jobs"`
	Succeeded  int               `json:"succeeded"`
	Failed     int               `json:"failed"`
	Pending    int               `json:"pending"`
	Gone       int               `json:"gone,omitempty"`
}

// waitMany waits for every selected job with one watch of them all. A line
// per finished job goes to stderr as it finishes; the exit code is 0 when
// all succeeded, 1 when any failed (at the first with --fail-fast), 4 when
// one was deleted before it finished, 5 on timeout.
func waitMany(c *cli.Context, b backends.Backend, s settings, sel selection, format string) error {
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if timeout := c.Duration("timeout"); timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errTimedOut)
		defer cancel()
	}
	// The first list the watch reports resolves the selection: no List
	// before it (with a ListWatcher, one request for all, not one per job).
	info := b.Info()
	ns := defaultNamespace(s, b)
	var (
		resolved   bool
		resolveErr error
		targets    = map[string]*backends.Status{}
		order      []string
		done       = map[string]bool{}
		failed     int
		gone       int
	)
	failFast := c.Bool("fail-fast")
	check := func(sts []*backends.Status) bool {
		present := make(map[string]*backends.Status, len(sts))
		for _, st := range sts {
			present[jobKey(st)] = st
		}
		for _, k := range order {
			if done[k] {
				continue
			}
			cur := present[k]
			if cur == nil {
				done[k], gone = true, gone+1
				fmt.Fprintf(c.App.ErrWriter, "job/%s was deleted before it finished\n", jobArg(targets[k], s, info))
				continue
			}
			targets[k] = cur
			if !cur.Phase.Terminal() {
				continue
			}
			done[k] = true
			fmt.Fprintln(c.App.ErrWriter, outcomeLine(jobArg(cur, s, info), cur))
			if cur.Phase == backends.Failed {
				failed++
				if failFast {
					return true
				}
			}
		}
		return len(done) == len(order)
	}
	err := watchJobs(ctx, b, sel.listOptions(s), func(sts []*backends.Status) bool {
		if !resolved {
			resolved = true
			found, missing := sel.pick(sts, ns)
			if resolveErr = missingJobs(missing, found); resolveErr != nil {
				return true
			}
			for _, st := range found {
				targets[jobKey(st)] = st
				order = append(order, jobKey(st))
			}
		}
		return check(sts)
	})
	if resolveErr != nil {
		return resolveErr
	}
	if !resolved && ctx.Err() == nil {
		return err // no list came at all
	}
	sum := waitSummary{APIVersion: outputAPIVersion, Kind: "WaitSummary"}
	var finals []*backends.Status
	for _, k := range order {
		st := targets[k]
		finals = append(finals, st)
		sum.Jobs = append(sum.Jobs, versioned(st))
		switch {
		case !done[k]:
			sum.Pending++
		case st.Phase == backends.Succeeded:
			sum.Succeeded++
		case st.Phase == backends.Failed:
			sum.Failed++
		}
	}
	sum.Gone = gone
	if format == outJSON {
		if werr := writeJSON(c.App.Writer, sum); werr != nil {
			return werr
		}
	} else if format != "" {
		if werr := newStatusWriter(c, format, s, info).write(finals, true); werr != nil {
			return werr
		}
	}
	switch {
	case failed > 0:
		return jobsFailedError{failed, len(order)}
	case err != nil && ctx.Err() != nil:
		if errors.Is(context.Cause(ctx), errTimedOut) {
			return timeoutError{fmt.Sprintf("timed out after %s: %d of %d jobs still running", c.Duration("timeout"), sum.Pending, len(order))}
		}
		return interruptedError{fmt.Sprintf("interrupted: %d of %d jobs left running", sum.Pending, len(order))}
	case err != nil:
		return err
	case gone > 0:
		return &backends.Error{Kind: backends.ErrNotFound, Op: "wait", Msg: fmt.Sprintf("%d jobs were deleted before they finished", gone)}
	}
	return nil
}

// missingJobs is the error for a selection that names jobs that do not
// exist, or matches none.
func missingJobs(missing []backends.Ref, found []*backends.Status) error {
	if len(missing) > 0 {
		var names []string
		for _, r := range missing {
			names = append(names, r.String())
		}
		return &backends.Error{Kind: backends.ErrNotFound, Op: "wait", Msg: "no such job: " + strings.Join(names, ", ")}
	}
	if len(found) == 0 {
		return &backends.Error{Kind: backends.ErrNotFound, Op: "wait", Msg: "no job matches"}
	}
	return nil
}
