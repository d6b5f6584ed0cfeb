package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// maxLine bounds a line held while waiting for its newline.
const maxLine = 1 << 20

// logStream is one container's output in one attempt: one file.
type logStream struct {
	src     backends.LogSource
	path    string
	off     int64
	partial []byte
	done    bool // fully read and no longer written
	// times, when asked for (LogOptions.Times or Since), stamps lines.
	times *logTimes
	stamp bool
	since time.Time
	mtime time.Time // stamps bytes no mark covers
}

func (b *backend) Logs(ctx context.Context, ref backends.Ref, opts backends.LogOptions, sink backends.LogSink) error {
	ref = b.ref(ref)
	// Held for the whole call: the job's TTL must not take its files mid-read.
	uid, st, release, err := b.loadHeld(ref)
	if err != nil {
		return err
	}
	defer release()
	if st == nil {
		return notFound("logs", ref)
	}
	rec, err := b.st.readRecord(uid)
	if err != nil {
		return err
	}
	if opts.Container != "" && !hasContainer(rec.Plan, opts.Container) {
		return &backends.Error{Kind: backends.ErrInvalid, Op: "logs", Ref: ref, Msg: "the job has no container " + opts.Container}
	}
	var streams []*logStream
	known := map[string]bool{}
	add := func(lines []attemptLine) {
		for _, l := range lines {
			a := l.Attempt
			if opts.Index != nil && (a.Index == nil || *a.Index != *opts.Index) {
				continue
			}
			for _, c := range l.Containers {
				if opts.Container != "" && c.Name != opts.Container {
					continue
				}
				path := b.st.logFile(uid, logName(a.Pod, c.Restart, c.Name))
				if !known[path] {
					known[path] = true
					ls := &logStream{path: path, src: backends.LogSource{Pod: a.Pod, Index: a.Index, Attempt: a.Attempt, Container: c.Name},
						stamp: opts.Times, since: opts.Since}
					if opts.Times || !opts.Since.IsZero() {
						ls.times = &logTimes{}
					}
					streams = append(streams, ls)
				}
			}
		}
	}
	lines := b.st.readAttempts(uid)
	add(lines)
	if !opts.Follow || st.Status.Phase.Terminal() {
		return drain(streams, sink, true)
	}
	gen := st.Generation
	done := finishedRuns(lines)
	unlocked := b.st.waitUnlocked(uid)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		retire(streams, done, sink)
		if err := drain(streams, sink, false); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-unlocked:
			unlocked = nil
		}
		st, err := b.loadUID(uid)
		if err != nil {
			return err
		}
		if st == nil {
			return notFound("logs", ref)
		}
		if st.Generation != gen {
			gen = st.Generation
			lines = b.st.readAttempts(uid)
			add(lines)
			done = finishedRuns(lines)
		}
		if st.Status.Phase.Terminal() {
			return drain(streams, sink, true)
		}
	}
}

type podAttempt struct {
	pod     string
	attempt int32
}

// finishedRuns are the runs that ended, with when.
func finishedRuns(lines []attemptLine) map[podAttempt]time.Time {
	out := map[podAttempt]time.Time{}
	for _, l := range lines {
		if a := l.Attempt; a.FinishTime != nil {
			out[podAttempt{a.Pod, a.Attempt}] = *a.FinishTime
		}
	}
	return out
}

// outputLag bounds how long after a run's end its output can still reach
// its log (the runtime reports an exit once the output is in, or after 2 s).
const outputLag = 3 * time.Second

// retire reads once more, and then stops reading, the streams of runs that
// ended long enough ago that no more output can come.
func retire(streams []*logStream, done map[podAttempt]time.Time, sink backends.LogSink) {
	for _, s := range streams {
		if end, ok := done[podAttempt{s.src.Pod, s.src.Attempt}]; ok && !s.done && time.Since(end) > outputLag {
			s.done = s.read(sink, true) == nil
		}
	}
}

func hasContainer(p *Plan, name string) bool {
	for _, cs := range [][]ContainerPlan{p.InitContainers, p.Containers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

func drain(streams []*logStream, sink backends.LogSink, final bool) error {
	for _, s := range streams {
		if s.done {
			continue
		}
		if err := s.read(sink, final); err != nil {
			return err
		}
	}
	return nil
}

// read sends the complete lines written since the last read; final also
// sends a last line that has no newline.
func (s *logStream) read(sink backends.LogSink, final bool) error {
	fi, err := os.Stat(s.path)
	if err != nil || fi.Size() <= s.off {
		if final {
			s.flush(sink)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	size := fi.Size()
	if s.times != nil {
		s.mtime = fi.ModTime().UTC()
		// The kernel stamps mtime from a coarse clock (a tick behind): a
		// second's margin keeps a just-written line.
		if !s.since.IsZero() && s.mtime.Before(s.since.Add(-time.Second)) {
			s.off, s.partial = size, s.partial[:0] // nothing in it is recent enough
			return nil
		}
		// Every byte up to size has its mark already: marks go first.
		s.times.load(s.path)
	}
	f, err := openNoFollow(s.path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(s.off, io.SeekStart); err != nil {
		return err
	}
	r := io.LimitReader(f, size-s.off)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		pos := s.off
		s.off += int64(n)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				s.partial = append(s.partial, data...)
				if len(s.partial) >= maxLine {
					s.piece(sink)
				}
				break
			}
			end := pos + int64(i)
			if len(s.partial) > 0 {
				s.partial = append(s.partial, data[:i]...)
				s.emit(sink, string(s.partial), end)
				s.partial = s.partial[:0]
			} else {
				s.emit(sink, string(data[:i]), end)
			}
			data = data[i+1:]
			pos += int64(i + 1)
		}
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return err
		}
	}
	if final {
		s.flush(sink)
	}
	return nil
}

// lineTime is when the byte at offset end was written.
func (s *logStream) lineTime(end int64) time.Time {
	if at := s.times.at(end); !at.IsZero() {
		return at
	}
	return s.mtime // a log from before batchctl kept times: its last write
}

// emit sends a line whose last byte is at offset end, stamped with its
// time when asked, unless it was written before since.
func (s *logStream) emit(sink backends.LogSink, line string, end int64) {
	src := s.src
	if s.times != nil {
		at := s.lineTime(end)
		if at.Before(s.since) {
			return
		}
		if s.stamp {
			src.At = at
		}
	}
	sink.Line(src, line)
}

// piece passes on what is held of a line too long to hold whole: as a
// piece where the sink takes pieces (the output stays byte-exact), else as
// a line of its own.
func (s *logStream) piece(sink backends.LogSink) {
	if ps, ok := sink.(backends.PartSink); ok {
		src := s.src
		if s.stamp {
			src.At = s.lineTime(s.off - 1)
		}
		ps.Part(src, string(s.partial))
		s.partial = s.partial[:0]
		return
	}
	s.flush(sink)
}

func (s *logStream) flush(sink backends.LogSink) {
	if len(s.partial) > 0 {
		s.emit(sink, string(s.partial), s.off-1)
		s.partial = s.partial[:0]
	}
}
