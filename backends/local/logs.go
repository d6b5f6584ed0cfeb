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
}

func (b *backend) Logs(ctx context.Context, ref backends.Ref, opts backends.LogOptions, sink backends.LogSink) error {
	ref = b.ref(ref)
	// Held for the whole call: the job's TTL must not take its files mid-read.
	defer b.st.hold(ref)()
	rec, atts, err := b.load(ref, "", 0)
	if err != nil {
		return err
	}
	if rec == nil {
		return notFound("logs", ref)
	}
	if opts.Container != "" && !hasContainer(rec.Plan, opts.Container) {
		return &backends.Error{Kind: backends.ErrInvalid, Op: "logs", Ref: ref, Msg: "the job has no container " + opts.Container}
	}
	uid, gen := rec.UID, rec.State.Generation
	var streams []*logStream
	known := map[string]bool{}
	add := func(atts []*attemptRecord) {
		for _, a := range atts {
			if opts.Index != nil && (a.Index == nil || *a.Index != *opts.Index) {
				continue
			}
			for _, c := range a.Containers {
				if opts.Container != "" && c != opts.Container {
					continue
				}
				path := b.st.logFile(uid, logName(a.Pod, a.Attempt, c))
				if !known[path] {
					known[path] = true
					streams = append(streams, &logStream{path: path, src: backends.LogSource{Pod: a.Pod, Index: a.Index, Attempt: a.Attempt, Container: c}})
				}
			}
		}
	}
	add(atts)
	if !opts.Follow || rec.State.Phase.Terminal() {
		return drain(streams, sink, true)
	}
	byKey, active := index(atts)
	unlocked := b.st.waitUnlocked(uid)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		retire(streams, byKey, active, sink)
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
		rec, atts, err := b.load(ref, uid, gen)
		if err != nil {
			return err
		}
		if rec == nil || rec.UID != uid {
			return notFound("logs", ref)
		}
		if rec.State.Generation != gen {
			gen = rec.State.Generation
			add(atts)
			byKey, active = index(atts)
		}
		if rec.State.Phase.Terminal() {
			return drain(streams, sink, true)
		}
	}
}

type podAttempt struct {
	pod     string
	attempt int32
}

// index maps attempts by pod and attempt number, and lists the active pods.
func index(atts []*attemptRecord) (map[podAttempt]*attemptRecord, map[string]bool) {
	byKey, active := map[podAttempt]*attemptRecord{}, map[string]bool{}
	for _, a := range atts {
		byKey[podAttempt{a.Pod, a.Attempt}] = a
		if a.active() {
			active[a.Pod] = true
		}
	}
	return byKey, active
}

// retire reads once more, and then stops reading, the streams of pods that
// are over and past any kill grace: no more output can come.
func retire(streams []*logStream, byKey map[podAttempt]*attemptRecord, active map[string]bool, sink backends.LogSink) {
	for _, s := range streams {
		a := byKey[podAttempt{s.src.Pod, s.src.Attempt}]
		if !s.done && a != nil && a.FinishTime != nil && !active[a.Pod] && time.Since(*a.FinishTime) > killGrace+time.Second {
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
	if fi, err := os.Stat(s.path); err != nil || fi.Size() <= s.off {
		if final {
			s.flush(sink)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(s.off, io.SeekStart); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		s.off += int64(n)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				s.partial = append(s.partial, data...)
				if len(s.partial) >= maxLine {
					s.flush(sink)
				}
				break
			}
			if len(s.partial) > 0 {
				s.partial = append(s.partial, data[:i]...)
				sink.Line(s.src, string(s.partial))
				s.partial = s.partial[:0]
			} else {
				sink.Line(s.src, string(data[:i]))
			}
			data = data[i+1:]
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

func (s *logStream) flush(sink backends.LogSink) {
	if len(s.partial) > 0 {
		sink.Line(s.src, string(s.partial))
		s.partial = s.partial[:0]
	}
}
