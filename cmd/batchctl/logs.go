package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print the logs of every attempt of a job",
		ArgsUsage: "NAME | -l SELECTOR",
		Description: "Prints stdout and stderr of every pod and attempt, finished or running. Lines are\n" +
			"prefixed with [pod/container] when the job has more than one attempt or container; with -l,\n" +
			"every matching job's, labelled by job. --tail N prints the last N lines of each source.",
		Flags: append(connectionFlags(),
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "stream new lines and attempts until the job finishes"},
			&cli.IntFlag{Name: "index", Value: -1, Usage: "only this completion index"},
			&cli.StringFlag{Name: "container", Aliases: []string{"c"}, Usage: "only this container"},
			&cli.BoolFlag{Name: "prefix", Usage: "always prefix lines with their source"},
			&cli.BoolFlag{Name: "retries", Usage: "also the logs of the job's retries (batchctl retry), after its own"},
			&cli.IntFlag{Name: "tail", Value: -1, Usage: "only the last N lines of each pod, attempt and container (then new ones with -f)"},
			&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: "the logs of every job matching this label selector"},
			&cli.StringFlag{Name: "since", Usage: "only lines written since: a duration (10m) or an RFC 3339 time (2026-11-30T10:00:00Z)"},
			&cli.BoolFlag{Name: "timestamps", Usage: "begin each line with when it was written (RFC 3339, UTC)"},
		),
		Action: action(func(c *cli.Context) error {
			b, s, err := openBackend(c)
			if err != nil {
				return err
			}
			defer b.Close()
			opts := backends.LogOptions{Follow: c.Bool("follow"), Container: c.String("container"), Times: c.Bool("timestamps")}
			if opts.Since, err = parseSince(c.String("since"), time.Now()); err != nil {
				return err
			}
			refs, st, err := logTargets(c, b, s)
			if err != nil {
				return err
			}
			if i := c.Int("index"); i >= 0 {
				if err := checkIndex(i, st); err != nil {
					return err
				}
				idx := int32(i)
				opts.Index = &idx
			}
			prefix := c.Bool("prefix") || len(refs) > 1 || manyAttempts(c.Context, b, refs[0], st, opts)
			sink := newLineSink(c.App.Writer, prefix, opts.Follow)
			sink.jobLabels = c.IsSet("selector")
			var tail backends.LogSink = sink
			var counts *countingSink
			if n := c.Int("tail"); n >= 0 {
				// The backlog first, its last n lines per source; following then
				// skips what the backlog held, whatever came since.
				counts = &countingSink{n: map[string]int{}}
				t := newTailSink(sink, n)
				for _, r := range refs {
					backlog := opts
					backlog.Follow = false
					if err := b.Logs(c.Context, r, backlog, stampSink(opts, jobSink{multiSink{t, counts}, r.Name})); err != nil {
						return err
					}
				}
				t.flush()
				if !opts.Follow {
					sink.flush()
					return nil
				}
				tail = &skipSink{next: sink, skip: counts.n}
			}
			for _, r := range refs {
				if err = b.Logs(c.Context, r, opts, stampSink(opts, jobSink{tail, r.Name})); err != nil {
					break
				}
			}
			sink.flush()
			return err
		}),
	}
}

// parseSince reads --since: a duration back from now, or a time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, usagef("--since %s: want a positive duration", v)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--since %q: want a duration (30s, 10m, 2h) or an RFC 3339 time (2026-11-30T10:00:00Z)", v)
}

// logTargets are the jobs whose logs are asked for, and the status of the
// first (for --index and labelling).
func logTargets(c *cli.Context, b backends.Backend, s settings) ([]backends.Ref, *backends.Status, error) {
	if c.IsSet("selector") {
		if c.NArg() > 0 {
			return nil, nil, usagef("logs: NAME and -l cannot be combined")
		}
		sel, err := backends.ParseSelector(c.String("selector"))
		if err != nil {
			return nil, nil, usageError{err.Error()}
		}
		sts, err := b.List(c.Context, backends.ListOptions{Namespace: s.Namespace, Selector: sel})
		if err != nil {
			return nil, nil, err
		}
		if len(sts) == 0 {
			return nil, nil, &backends.Error{Kind: backends.ErrNotFound, Op: "logs", Msg: "no job matches " + c.String("selector")}
		}
		var refs []backends.Ref
		for _, st := range sts {
			refs = append(refs, backends.Ref{Name: st.Name, Namespace: st.Namespace})
		}
		return refs, sts[0], nil
	}
	name, err := oneName(c)
	if err != nil {
		return nil, nil, err
	}
	ref := refFor(name, s)
	var st *backends.Status
	if !isCronArg(name) {
		st, err = b.Status(c.Context, ref)
	}
	if isCronArg(name) || cronFallback(name, b, err) {
		// A CronJob's logs are its most recent Job's (cronjob.go).
		if st, _, err = latestRun(c, b, s, name, err); err == nil {
			ref = backends.Ref{Name: st.Name, Namespace: st.Namespace}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	refs := []backends.Ref{ref}
	if c.Bool("retries") {
		fam, err := family(c.Context, b, s, ref)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range fam.retries {
			refs = append(refs, backends.Ref{Name: r.Name, Namespace: r.Namespace})
		}
	}
	return refs, st, nil
}

// checkIndex refuses an --index the job does not have, naming the range.
func checkIndex(i int, st *backends.Status) error {
	if st.CompletionMode != "Indexed" {
		return usagef("logs --index %d: job %s is not Indexed (completionMode %s)", i, st.Name, st.CompletionMode)
	}
	if int32(i) >= st.Completions {
		return usagef("logs --index %d: job %s has indexes 0 to %d", i, st.Name, st.Completions-1)
	}
	return nil
}

// manyAttempts decides the default prefixing: lines need a source label once
// more than one attempt (of the selected index) has run, or could still run
// while following.
//
// A backend may leave the attempts out of Status for cost (k8s); its pod
// counts then miss a container restarted in place (OnFailure): one pod, many
// runs. Following, whose lines go out as they come and cannot be labelled
// afterwards, asks a Describer for the attempts once a pod exists.
func manyAttempts(ctx context.Context, b backends.Backend, ref backends.Ref, st *backends.Status, opts backends.LogOptions) bool {
	attempts := st.Attempts
	if len(attempts) == 0 {
		pods := st.Succeeded + st.Failed + st.Active
		if opts.Index == nil && pods > 1 {
			return true
		}
		if d, ok := b.(backends.Describer); ok && opts.Follow && pods > 0 {
			if full, err := d.Describe(ctx, ref); err == nil {
				attempts = full.Attempts
			}
		}
	}
	count := 0
	for _, a := range attempts {
		if opts.Index == nil || (a.Index != nil && *a.Index == *opts.Index) {
			count++
		}
	}
	if count > 1 {
		return true
	}
	return opts.Follow && !st.Phase.Terminal() && opts.Index == nil && (st.Completions > 1 || st.Parallelism > 1)
}

// holdLimit bounds what a non-streaming sink keeps back while it cannot yet
// tell whether lines need labels.
const holdLimit = 4 << 20

// lineSink writes log lines to stdout, labelled "[pod/container #index]"
// (plus the attempt number for retries) once there is more than one source. Backends
// may call Line from several goroutines.
//
// Unless labels are asked for up front, the first source's lines go out bare.
// When a second source appears, every line from then on is labelled; a
// non-streaming sink first holds the first source's lines (up to holdLimit)
// so they get labels too. A streaming sink flushes every line, so followers
// see output as it happens.
type lineSink struct {
	jobLabels bool                // lines of several jobs: the label names the job too
	open      *backends.LogSource // the source whose long line is being written in pieces
	mu        sync.Mutex
	w         *bufio.Writer
	prefix    bool
	stream    bool
	first     *backends.LogSource
	held      []string
	heldLen   int
	decided   bool // a non-streaming sink stopped holding
}

func newLineSink(w io.Writer, prefix, stream bool) *lineSink {
	return &lineSink{w: bufio.NewWriter(w), prefix: prefix, stream: stream, decided: prefix || stream}
}

func sameSource(a, b backends.LogSource) bool {
	return a.Job == b.Job && a.Pod == b.Pod && a.Container == b.Container && a.Attempt == b.Attempt
}

func (s *lineSink) Line(src backends.LogSource, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = &src
	}
	if !s.prefix && !sameSource(src, *s.first) {
		s.prefix = true
		if !s.decided {
			for _, h := range s.held {
				s.write(*s.first, h)
			}
			s.held, s.decided = nil, true
		}
	}
	if !s.decided {
		s.held = append(s.held, line)
		if s.heldLen += len(line); s.heldLen > holdLimit {
			s.release()
		}
		return
	}
	s.write(src, line)
	if s.stream {
		s.w.Flush()
	}
}

func (s *lineSink) write(src backends.LogSource, line string) { s.writePiece(src, line, true) }

// writePiece writes text for src, labelled at the start of a line, and
// ends the line when final. A piece of a long line leaves its line open; a
// line of another source ends it first.
func (s *lineSink) writePiece(src backends.LogSource, text string, final bool) {
	if s.open != nil && !sameSource(*s.open, src) {
		s.w.WriteByte('\n')
		s.open = nil
	}
	if s.open == nil && s.prefix {
		label := src.Pod
		if s.jobLabels && src.Job != "" && !strings.HasPrefix(src.Pod, src.Job+"-") {
			label = src.Job + " " + label
		}
		if src.Container != "" {
			label += "/" + src.Container
		}
		if src.Index != nil {
			label += fmt.Sprintf(" #%d", *src.Index)
		}
		if src.Attempt > 0 {
			label += fmt.Sprintf(" attempt %d", src.Attempt)
		}
		fmt.Fprintf(s.w, "[%s] ", label)
	}
	s.w.WriteString(text)
	if final {
		s.w.WriteByte('\n')
		s.open = nil
	} else {
		s.open = &src
	}
}

// Part writes a piece of a long line: the pieces and the line's end join
// up byte for byte (see backends.PartSink).
func (s *lineSink) Part(src backends.LogSource, piece string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = &src
	}
	if !s.prefix && !sameSource(src, *s.first) {
		s.prefix = true
	}
	if !s.decided {
		s.release() // a held line cannot be continued: decide now
	}
	s.writePiece(src, piece, false)
	if s.stream {
		s.w.Flush()
	}
}

// release writes held lines bare: one source only, or too much to hold.
func (s *lineSink) release() {
	for _, h := range s.held {
		s.write(*s.first, h)
	}
	s.held, s.decided = nil, true
}

func (s *lineSink) flush() {
	s.mu.Lock()
	if s.open != nil { // a stream cut in the middle of a long line
		s.w.WriteByte('\n')
		s.open = nil
	}
	defer s.mu.Unlock()
	if !s.decided && s.first != nil {
		s.release()
	}
	s.w.Flush()
}
