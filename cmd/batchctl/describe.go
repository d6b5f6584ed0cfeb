package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func describeCommand() *cli.Command {
	return &cli.Command{
		Name:      "describe",
		Usage:     "show a job in detail: every attempt with its exit code and reason, and events",
		ArgsUsage: "NAME",
		Flags:     append(connectionFlags(), outputFlag("text, json, yaml (default text)")),
		Action: action(func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			format := c.String("output")
			if format == "" {
				format = "text"
			}
			if err := checkOutput(format, "text", outJSON, outYAML); err != nil {
				return err
			}
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			if isCronArg(name) {
				return describeCronOf(c, b, s, name, format, nil) // cronjob.go
			}
			ref := refFor(name, s)
			var st *backends.Status
			if d, ok := b.(backends.Describer); ok {
				st, err = d.Describe(c.Context, ref)
			} else {
				st, err = b.Status(c.Context, ref)
			}
			if cronFallback(name, b, err) {
				return describeCronOf(c, b, s, name, format, err)
			}
			if err != nil {
				return err
			}
			if ok, err := writeStructured(c.App.Writer, format, versioned(st)); ok {
				return err
			}
			return writeDescription(c.App.Writer, st)
		}),
	}
}

func writeDescription(w io.Writer, st *backends.Status) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	field("Name", st.Name)
	field("Namespace", st.Namespace)
	field("Backend", st.Backend)
	field("Phase", string(st.Phase))
	if st.Reason != "" {
		field("Reason", st.Reason)
	}
	if st.Message != "" {
		field("Message", st.Message)
	}
	mode := st.CompletionMode
	if mode == "" {
		mode = "NonIndexed"
	}
	field("Completions", fmt.Sprintf("%d/%d (%s)", st.Succeeded, st.Completions, mode))
	if st.CompletedIndexes != "" || mode == "Indexed" {
		field("Completed Indexes", orDash(st.CompletedIndexes))
	}
	if st.FailedIndexes != "" {
		field("Failed Indexes", st.FailedIndexes)
	}
	field("Parallelism", fmt.Sprint(st.Parallelism))
	field("Pods", fmt.Sprintf("%d active / %d succeeded / %d failed", st.Active, st.Succeeded, st.Failed))
	field("Start Time", timeOrDash(st.StartTime))
	field("Completed At", timeOrDash(st.CompletionTime))
	field("Duration", duration(st, time.Now()))
	if st.NextRetry != nil && !st.Phase.Terminal() {
		field("Next Retry", fmt.Sprintf("%s (in %s, after a backoff)", st.NextRetry.Format(time.RFC3339), shortDuration(time.Until(*st.NextRetry))))
	}
	field("Labels", labelList(st.Labels))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nAttempts:")
	if len(st.Attempts) == 0 {
		fmt.Fprintln(w, "  <none>")
	} else {
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  INDEX\tATTEMPT\tPOD\tPHASE\tEXIT\tREASON\tSTARTED\tFINISHED")
		for _, a := range st.Attempts {
			idx, exit := "-", "-"
			if a.Index != nil {
				idx = fmt.Sprint(*a.Index)
			}
			if a.ExitCode != nil {
				exit = fmt.Sprint(*a.ExitCode)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", idx, a.Attempt, a.Pod, a.Phase, exit, orDash(a.Reason),
				timeOrDash(a.StartTime), timeOrDash(a.FinishTime))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nEvents:")
	if len(st.Events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, e := range st.Events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Type, e.Reason, orDash(e.Object), e.Message)
	}
	return tw.Flush()
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func labelList(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
