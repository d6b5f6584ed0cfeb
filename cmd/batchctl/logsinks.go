package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/batchctl/batchctl/backends"
)

func sourceKey(src backends.LogSource) string {
	return fmt.Sprintf("%s/%s/%s/%d", src.Job, src.Pod, src.Container, src.Attempt)
}

// tailSink keeps the last n lines of each source and passes them on, in the
// order the sources first appeared, at flush.
type tailSink struct {
	next  backends.LogSink
	n     int
	mu    sync.Mutex
	order []backends.LogSource
	lines map[string][]string
}

func newTailSink(next backends.LogSink, n int) *tailSink {
	return &tailSink{next: next, n: n, lines: map[string][]string{}}
}

func (t *tailSink) Line(src backends.LogSource, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := sourceKey(src)
	l, seen := t.lines[k]
	if !seen {
		t.order = append(t.order, src)
	}
	if t.n == 0 {
		t.lines[k] = l
		return
	}
	l = append(l, line)
	if len(l) > t.n {
		l = l[len(l)-t.n:]
	}
	t.lines[k] = l
}

func (t *tailSink) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, src := range t.order {
		for _, l := range t.lines[sourceKey(src)] {
			t.next.Line(src, l)
		}
	}
}

// countingSink counts the lines of each source.
type countingSink struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingSink) Line(src backends.LogSource, _ string) {
	c.mu.Lock()
	c.n[sourceKey(src)]++
	c.mu.Unlock()
}

// skipSink drops the first skip[source] lines of each source.
type skipSink struct {
	next backends.LogSink
	mu   sync.Mutex
	skip map[string]int
}

func (s *skipSink) Line(src backends.LogSource, line string) {
	s.mu.Lock()
	k := sourceKey(src)
	if s.skip[k] > 0 {
		s.skip[k]--
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.next.Line(src, line)
}

// multiSink passes every line to each sink.
type multiSink []backends.LogSink

func (m multiSink) Line(src backends.LogSource, line string) {
	for _, s := range m {
		s.Line(src, line)
	}
}

// jobSink names the job on each line, for the logs of several jobs.
type jobSink struct {
	next backends.LogSink
	job  string
}

func (j jobSink) Line(src backends.LogSource, line string) {
	src.Job = j.job
	j.next.Line(src, line)
}

// Part passes a piece of a long line on whole where the next sink takes
// pieces (see backends.PartSink), else as a line.
func (j jobSink) Part(src backends.LogSource, piece string) {
	src.Job = j.job
	if ps, ok := j.next.(backends.PartSink); ok {
		ps.Part(src, piece)
		return
	}
	j.next.Line(src, piece)
}

// stampedSink begins each line with its time (LogSource.At), as kubectl
// logs --timestamps does; the [source] label, added later, goes before it.
// A long line passed in pieces is stamped once, on its first piece.
type stampedSink struct {
	next backends.LogSink
	mu   sync.Mutex
	open map[string]bool // sources in the middle of a line
}

// stampSink wraps next in a stampedSink when opts asks for times.
func stampSink(opts backends.LogOptions, next backends.LogSink) backends.LogSink {
	if !opts.Times {
		return next
	}
	return &stampedSink{next: next, open: map[string]bool{}}
}

func (s *stampedSink) stamp(src backends.LogSource, text string, more bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sourceKey(src)
	mid := s.open[k]
	if more {
		s.open[k] = true
	} else {
		delete(s.open, k)
	}
	if mid {
		return text
	}
	return src.At.UTC().Format(time.RFC3339Nano) + " " + text
}

func (s *stampedSink) Line(src backends.LogSource, line string) {
	s.next.Line(src, s.stamp(src, line, false))
}

func (s *stampedSink) Part(src backends.LogSource, piece string) {
	piece = s.stamp(src, piece, true)
	if ps, ok := s.next.(backends.PartSink); ok {
		ps.Part(src, piece)
		return
	}
	s.next.Line(src, piece)
}
