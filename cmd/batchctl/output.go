package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/batchctl/batchctl/backends"
)

// Output formats accepted by -o.
const (
	outTable = "table"
	outWide  = "wide"
	outJSON  = "json"
	outYAML  = "yaml"
	outName  = "name"
)

func checkOutput(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown output format %q (use %s)", format, strings.Join(allowed, ", "))
}

// writeStructured writes v when format is json or yaml; ok is false for
// the other formats, which the caller prints its own way.
func writeStructured(w io.Writer, format string, v any) (ok bool, err error) {
	switch format {
	case outJSON:
		return true, writeJSON(w, v)
	case outYAML:
		return true, writeYAML(w, v)
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML renders v through its JSON form, so YAML keys are the JSON tags
// and keep their declared order (Kubernetes objects only carry JSON tags).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle undoes the flow style and quoting JSON input gives every node;
// the encoder re-quotes strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// statusWriter prints statuses in the requested format. name gives the job
// argument that finds each one again (see jobArg).
type statusWriter struct {
	w      io.Writer
	format string
	name   func(*backends.Status) string
}

func newStatusWriter(c *cli.Context, format string, s settings, info backends.Info) statusWriter {
	return statusWriter{w: c.App.Writer, format: format, name: func(st *backends.Status) string { return jobArg(st, s, info) }}
}

func (sw statusWriter) one(st *backends.Status) error {
	return sw.write([]*backends.Status{st}, false)
}

// write prints sts; list is true for `list`, whose JSON and YAML forms are
// always an array.
func (sw statusWriter) write(sts []*backends.Status, list bool) error {
	w := sw.w
	if list && sts == nil {
		sts = []*backends.Status{}
	}
	switch sw.format {
	case outJSON:
		if list {
			return writeJSON(w, versionedList(sts))
		}
		return writeJSON(w, versioned(sts[0]))
	case outYAML:
		if list {
			return writeYAML(w, versionedList(sts))
		}
		return writeYAML(w, versioned(sts[0]))
	case outName:
		for _, st := range sts {
			fmt.Fprintf(w, "job/%s\n", sw.name(st))
		}
		return nil
	case outWide:
		return writeTable(w, sts, true)
	default:
		return writeTable(w, sts, false)
	}
}

func writeTable(w io.Writer, sts []*backends.Status, wide bool) error {
	return tableRows(w, sts, wide, true, 3)
}

// writeTableRows prints one more row of a watched table; columns get a fixed
// minimum width so rows printed apart still line up.
func writeTableRows(w io.Writer, st *backends.Status, wide, header bool) error {
	return tableRows(w, []*backends.Status{st}, wide, header, 12)
}

func tableRows(w io.Writer, sts []*backends.Status, wide, header bool, minWidth int) error {
	tw := tabwriter.NewWriter(w, minWidth, 8, 3, ' ', 0)
	if header && wide {
		fmt.Fprintln(tw, "NAMESPACE\tNAME\tBACKEND\tPHASE\tCOMPLETIONS\tACTIVE\tFAILED\tPARALLELISM\tFAILED INDEXES\tDURATION\tAGE\tREASON\tNEXT RETRY")
	} else if header {
		fmt.Fprintln(tw, "NAME\tPHASE\tCOMPLETIONS\tDURATION\tAGE")
	}
	now := time.Now()
	for _, st := range sts {
		comp := fmt.Sprintf("%d/%d", st.Succeeded, st.Completions)
		if wide {
			next := "-"
			if st.NextRetry != nil && !st.Phase.Terminal() {
				next = "in " + shortDuration(st.NextRetry.Sub(now).Truncate(time.Second))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", st.Namespace, st.Name, st.Backend, st.Phase, comp,
				st.Active, st.Failed, st.Parallelism, orDash(st.FailedIndexes), duration(st, now), age(st, now), orDash(st.Reason), next)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Name, st.Phase, comp, duration(st, now), age(st, now))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// duration is how long the job has run: start to completion, or to now.
func duration(st *backends.Status, now time.Time) string {
	if st.StartTime == nil {
		return "-"
	}
	end := now
	if st.CompletionTime != nil {
		end = *st.CompletionTime
	}
	return shortDuration(end.Sub(*st.StartTime))
}

func age(st *backends.Status, now time.Time) string {
	t := st.CreationTime
	if t == nil {
		t = st.StartTime
	}
	if t == nil {
		return "-"
	}
	return shortDuration(now.Sub(*t))
}

// shortDuration prints kubectl-style ages: 850ms, 42s, 3m12s, 5h2m, 3d4h.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// isTerminal reports whether w is a terminal, where live progress belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLine is the one-line live view of a job on a terminal.
func progressLine(st *backends.Status, elapsed time.Duration) string {
	line := fmt.Sprintf("%s: %s  active %d  succeeded %d/%d  failed %d  %s",
		st.Name, st.Phase, st.Active, st.Succeeded, st.Completions, st.Failed, shortDuration(elapsed.Truncate(100*time.Millisecond)))
	if st.NextRetry != nil && !st.Phase.Terminal() {
		line += "  next retry in " + shortDuration(time.Until(*st.NextRetry).Truncate(time.Second))
	}
	if st.Message != "" && !st.Phase.Terminal() {
		line += "  " + st.Message // why it waits, where the backend says
	}
	return line
}

// compactJSON is one JSON object per line, for --watch streams (the encoder
// writes each value with a single Write).
func compactJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
