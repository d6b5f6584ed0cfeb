package nomad

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// Logs reads every started task's stdout and stderr in every allocation
// (failed and replaced ones too) through the servers, which forward to the
// client holding them. With Follow, running tasks are streamed and new ones
// picked up as the allocations change (the same blocking queries as Watch);
// a task that ends is read to its end and closed, since Nomad's follow
// stream never ends by itself. Logs returns once the job is finished and
// every stream is drained.
func (b *backend) Logs(ctx context.Context, ref backends.Ref, opts backends.LogOptions, sink backends.LogSink) error {
	ref = b.ref(ref)
	if opts.Times || !opts.Since.IsZero() {
		return &backends.Error{Kind: backends.ErrInvalid, Op: "logs", Ref: ref,
			Msg: "--since and --timestamps: the nomad backend does not know when each line was written (Nomad's log API has no time per line)"}
	}
	s, err := b.load(ctx, "logs", ref, 0, 0)
	if err != nil {
		return err
	}
	if opts.Container != "" && !hasTask(s.job, opts.Container) {
		return &backends.Error{Kind: backends.ErrInvalid, Op: "logs", Ref: ref, Msg: "the job has no container " + opts.Container}
	}
	l := &logReader{b: b, ref: ref, opts: opts, sink: sink, streams: map[streamKey]*stream{}}
	if !opts.Follow {
		l.add(s, toStatus(s.job, s.allocs, time.Now()))
		return l.drainAll(ctx)
	}
	var drainErr error
	err = b.follow(ctx, ref, s, "logs", func(s *snapshot, st *backends.Status) bool {
		l.add(s, st)
		for _, str := range l.order {
			switch {
			case str.done:
			case str.dead:
				l.stop(str)
				if drainErr = l.drain(ctx, str); drainErr != nil {
					return true
				}
			case str.cancel == nil:
				l.start(ctx, str)
			}
		}
		return st.Phase.Terminal()
	})
	for _, str := range l.order {
		l.stop(str)
	}
	if err == nil {
		err = drainErr
	}
	if err != nil {
		return err
	}
	return l.drainAll(ctx)
}

func hasTask(job *api.Job, name string) bool {
	for _, t := range job.TaskGroups[0].Tasks {
		if t.Name == name {
			return true
		}
	}
	return false
}

type streamKey struct{ alloc, task, typ string }

// stream is one task's stdout or stderr in one allocation.
type stream struct {
	key   streamKey
	src   backends.LogSource
	base  int32 // the allocation's first attempt number
	dead  bool  // the task has ended for good
	off   int64 // bytes read so far
	run   int   // run markers seen, minus one
	lines remote.Lines
	open  bool // a long line was passed on in part: its end is due
	done  bool // read to its end

	cancel  context.CancelFunc // a follower is running
	stopped chan struct{}
}

type logReader struct {
	b       *backend
	ref     backends.Ref
	opts    backends.LogOptions
	sink    backends.LogSink
	sinkMu  sync.Mutex // followers write concurrently
	streams map[streamKey]*stream
	order   []*stream // index, attempt, task, stdout before stderr
}

// add records the streams of every task that has started, and which ended.
func (l *logReader) add(s *snapshot, st *backends.Status) {
	base := map[string]int32{}
	for _, a := range st.Attempts {
		if b, ok := base[a.Pod]; !ok || a.Attempt < b {
			base[a.Pod] = a.Attempt
		}
	}
	tasks := s.job.TaskGroups[0].Tasks
	for _, a := range s.allocs {
		idx, ok := allocIndex(a)
		if !ok || (l.opts.Index != nil && idx != *l.opts.Index) {
			continue
		}
		for _, t := range tasks {
			ts := a.TaskStates[t.Name]
			if ts == nil || ts.StartedAt.IsZero() || (l.opts.Container != "" && t.Name != l.opts.Container) {
				continue
			}
			for _, typ := range []string{"stdout", "stderr"} {
				k := streamKey{a.ID, t.Name, typ}
				str := l.streams[k]
				if str == nil {
					str = &stream{key: k, run: -1, base: base[shortID(a.ID)], lines: remote.Lines{Keep: runMarker},
						src: backends.LogSource{Pod: shortID(a.ID), Index: ptr(idx), Container: t.Name}}
					l.streams[k] = str
					l.order = append(l.order, str)
				}
				str.dead = ts.State == taskStateDead
			}
		}
	}
	taskRank := map[string]int{}
	for i, t := range tasks {
		taskRank[t.Name] = i
	}
	sort.SliceStable(l.order, func(i, j int) bool {
		a, b := l.order[i], l.order[j]
		switch {
		case *a.src.Index != *b.src.Index:
			return *a.src.Index < *b.src.Index
		case a.base != b.base:
			return a.base < b.base
		case a.key.task != b.key.task:
			return taskRank[a.key.task] < taskRank[b.key.task]
		}
		return a.key.typ == "stdout" && b.key.typ == "stderr"
	})
}

// drainAll reads every stream not yet read to its end, in order.
func (l *logReader) drainAll(ctx context.Context) error {
	for _, s := range l.order {
		if err := l.drain(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// drain reads s from its offset to the end and sends its last line.
func (l *logReader) drain(ctx context.Context, s *stream) error {
	if s.done {
		return nil
	}
	err := l.b.call(ctx, "logs", l.ref, func(c *api.Client) error { return l.read(ctx, c, s, false) })
	if gone(err) {
		fmt.Fprintf(l.b.stderr, "nomad: the logs of task %s in allocation %s are gone (collected by its Nomad client)\n", s.key.task, s.src.Pod)
		err = nil
	}
	if err != nil {
		return err
	}
	s.lines.Flush(func(piece []byte, final bool) { l.emit(s, piece, final) })
	s.done = true
	return nil
}

// gone: the client no longer has the allocation (or never ran the task).
func gone(err error) bool {
	code, _ := response(err)
	return code == http.StatusNotFound
}

// start streams s until stop, reconnecting from its offset after errors
// and after remote.StallTimeout of silence (a quiet task's stream is
// silent too: it is then merely reopened). An error no retry cures (a
// refused token, a certificate) ends the follower: drain, once the task
// ends, reports it.
func (l *logReader) start(ctx context.Context, s *stream) {
	fctx, cancel := context.WithCancel(ctx)
	s.cancel, s.stopped = cancel, make(chan struct{})
	c, err := l.b.api()
	if err != nil {
		close(s.stopped)
		return
	}
	go func() {
		defer close(s.stopped)
		pause := 100 * time.Millisecond
		for {
			err := l.read(fctx, c, s, true)
			if fctx.Err() != nil || gone(err) || (err != nil && !transient(err)) {
				return
			}
			select {
			case <-fctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		}
	}()
}

// stop ends s's follower, if any, once it has returned.
func (l *logReader) stop(s *stream) {
	if s.cancel != nil {
		s.cancel()
		<-s.stopped
		s.cancel = nil
	}
}

// read copies s's log from its offset, following it or to its current end.
// A connection silent for remote.StallTimeout is abandoned (a *StallError);
// the offset kept in s lets the next read go on where this one stopped.
func (l *logReader) read(ctx context.Context, c *api.Client, s *stream, follow bool) error {
	guard := remote.NewGuard(ctx, remote.StallTimeout)
	defer guard.Stop()
	q := l.b.query(l.ref).WithContext(guard.Context())
	q.Params = map[string]string{
		"task": s.key.task, "type": s.key.typ, "origin": "start", "plain": "true",
		"offset": strconv.FormatInt(s.off, 10), "follow": strconv.FormatBool(follow),
	}
	body, err := c.Raw().Response("/v1/client/fs/logs/"+url.PathEscape(s.key.alloc), q)
	if err != nil {
		return guard.Err(err)
	}
	defer body.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			guard.Alive()
			s.off += int64(n)
			l.feed(s, buf[:n])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return guard.Err(err)
		}
	}
}

// feed splits data into lines. A line longer than remote.MaxLine is passed
// on in pieces: memory stays bounded whatever the task prints.
func (l *logReader) feed(s *stream, data []byte) {
	s.lines.Feed(data, func(piece []byte, final bool) { l.emit(s, piece, final) })
}

// emit sends one line, or a piece of one when not final, taking out the
// run markers the OnFailure wrapper writes: each starts the next attempt of
// the allocation. remote.Lines never cuts a marker in two.
func (l *logReader) emit(s *stream, piece []byte, final bool) {
	marked := false
	for {
		i := bytes.Index(piece, []byte(runMarker))
		if i < 0 {
			break
		}
		if i > 0 || s.open { // the previous run ended without a newline
			l.send(s, piece[:i], true)
		}
		s.run++
		marked = true
		piece = piece[i+len(runMarker):]
	}
	if len(piece) > 0 || (final && !marked) {
		l.send(s, piece, final)
	}
}

// send passes a line, or a piece of one, to the sink: a piece goes to
// remote.PartSink's Part, so that the pieces join up again; a sink without
// it gets each piece as a line.
func (l *logReader) send(s *stream, piece []byte, final bool) {
	src := s.src
	src.Attempt = s.base + int32(max(s.run, 0))
	l.sinkMu.Lock()
	defer l.sinkMu.Unlock()
	if ps, ok := l.sink.(remote.PartSink); ok && !final {
		ps.Part(src, string(piece))
		s.open = true
		return
	}
	l.sink.Line(src, string(piece))
	s.open = false
}
