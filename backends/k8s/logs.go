package k8s

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/batchctl/batchctl/backends"
)

// drainGrace bounds how long a following stream may outlive the finished
// job: a kubelet normally closes it when the container exits. Containers
// still stopping (deleted with a grace period) are waited for until their
// deletion is due, plus this.
const drainGrace = 5 * time.Second

// maxLine bounds the line buffer of every log stream: a longer line is
// passed on in pieces of maxLine bytes, each as a line of its own, so
// memory stays bounded whatever a container prints.
const maxLine = 1 << 20

// stream is one container run's log: the current one, or with previous the
// run before an in-place restart (the kubelet keeps exactly one).
type stream struct {
	pod         *corev1.Pod
	container   string
	containerID string // the runtime's, "containerd://…"; "" if not known yet
	attempt     int32
	previous    bool
	// since and times are the LogOptions': the stream is read with the
	// kubelet's timestamps when either is set.
	since time.Time
	times bool
}

// stamped says whether the stream is asked for with timestamps.
func (s stream) stamped() bool { return s.times || !s.since.IsZero() }

func (s stream) key() string {
	return fmt.Sprintf("%s/%s/%d", s.pod.Name, s.container, s.attempt)
}

// Logs prints every pod of the job, finished and failed ones included. Of
// a container restarted in place, the kubelet keeps the current run and the
// previous one: the older runs' output is gone, which a note on stderr says
// (logs -f, started early enough, sees every run as it happens).
func (b *backend) Logs(ctx context.Context, ref backends.Ref, opts backends.LogOptions, sink backends.LogSink) error {
	job, err := b.get(ctx, "logs", ref)
	if err != nil {
		return err
	}
	if err := b.checkContainer(job, opts.Container); err != nil {
		return err
	}
	if !opts.Follow {
		pods, err := b.pods(ctx, job)
		if err != nil {
			return err
		}
		var all []stream
		for i := range pods {
			streams, lost := streamsOf(&pods[i], attemptBase(&pods[i], pods), opts)
			b.noteLost(&pods[i], lost)
			all = append(all, streams...)
		}
		return b.copyStreams(ctx, all, sink)
	}
	return b.follow(ctx, ref, job, opts, sink)
}

// logLimiter paces log requests instead of client-go's default for a
// client without a QPS (5 a second after a burst of 10), which made the
// logs of 20 pods take 2 s of waiting on the client's own limiter, as it
// does for kubectl. At most logWindow (or, following, one per container
// run) are open at once anyway.
var logLimiter = flowcontrol.NewTokenBucketRateLimiter(50, 100)

// Reading finished logs: each request waits on the API server and the
// kubelet far longer than its lines take to copy, so up to logWindow
// streams are read at once. Output stays in order, one stream after the
// other: streams ahead of their turn are held, up to logHold bytes each,
// then wait for it (their connection stalls, nothing more is read).
const (
	logWindow = 8
	logHold   = 4 << 20
)

// copyStreams copies streams to sink in order, reading up to logWindow of
// them at once. The first error, in stream order, ends it.
func (b *backend) copyStreams(ctx context.Context, streams []stream, sink backends.LogSink) error {
	if len(streams) <= 1 {
		for _, s := range streams {
			if err := b.copyStream(ctx, s, false, sink); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bufs := make([]*heldLines, len(streams))
	for i := range bufs {
		bufs[i] = newHeldLines(logHold)
	}
	defer func() {
		for _, h := range bufs {
			h.abandon()
		}
	}()
	slots := make(chan struct{}, logWindow)
	go func() {
		for i, s := range streams {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for _, h := range bufs[i:] {
					h.close(ctx.Err())
				}
				return
			}
			go func() {
				defer func() { <-slots }()
				bufs[i].close(b.copyStream(ctx, s, false, bufs[i]))
			}()
		}
	}()
	for _, h := range bufs {
		if err := h.drainTo(sink); err != nil {
			return err
		}
	}
	return nil
}

// heldLines is a LogSink that keeps the lines of a stream read ahead of its
// turn, up to a number of bytes; beyond that, Line waits for drainTo.
type heldLines struct {
	mu        sync.Mutex
	cond      *sync.Cond
	lines     []heldLine
	bytes     int
	limit     int
	done      bool
	err       error
	abandoned bool
}

type heldLine struct {
	src  backends.LogSource
	text string
}

func newHeldLines(limit int) *heldLines {
	h := &heldLines{limit: limit}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *heldLines) Line(src backends.LogSource, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.bytes >= h.limit && !h.abandoned {
		h.cond.Wait()
	}
	if h.abandoned {
		return
	}
	h.lines = append(h.lines, heldLine{src, text})
	h.bytes += len(text)
	h.cond.Broadcast()
}

// close marks the stream's end, with its error.
func (h *heldLines) close(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done, h.err = true, err
	h.cond.Broadcast()
}

// abandon drops whatever comes: the reader of the lines is gone.
func (h *heldLines) abandon() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.abandoned = true
	h.cond.Broadcast()
}

// drainTo passes the lines on to sink as they come, until the stream ends.
func (h *heldLines) drainTo(sink backends.LogSink) error {
	for {
		h.mu.Lock()
		for len(h.lines) == 0 && !h.done {
			h.cond.Wait()
		}
		lines, done, err := h.lines, h.done, h.err
		h.lines, h.bytes = nil, 0
		h.cond.Broadcast()
		h.mu.Unlock()
		for _, l := range lines {
			sink.Line(l.src, l.text)
		}
		if done && len(lines) == 0 {
			return err
		}
	}
}

func (b *backend) checkContainer(job *batchv1.Job, name string) error {
	if name == "" {
		return nil
	}
	spec := job.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		if c.Name == name {
			return nil
		}
	}
	return &backends.Error{Kind: backends.ErrInvalid, Op: "logs", Ref: backends.Ref{Name: job.Name, Namespace: job.Namespace},
		Msg: fmt.Sprintf("job %s has no container %q", job.Name, name)}
}

// lostRuns are the runs of one container whose log the kubelet no longer
// keeps: attempts first..last.
type lostRuns struct {
	container   string
	first, last int32
}

// streamsOf lists the runs of pod that have output to read: started
// containers only, so a container still being created is waited for, not
// an error. lost are the earlier runs whose log is gone.
func streamsOf(pod *corev1.Pod, base int32, opts backends.LogOptions) (out []stream, lost []lostRuns) {
	if opts.Index != nil {
		if idx := podIndex(pod); idx == nil || *idx != *opts.Index {
			return nil, nil
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if opts.Container != "" && cs.Name != opts.Container {
			continue
		}
		kept := cs.RestartCount // the first run still readable
		if t := cs.LastTerminationState.Terminated; cs.RestartCount > 0 && t != nil {
			kept = cs.RestartCount - 1
			out = append(out, stream{pod: pod, container: cs.Name, containerID: t.ContainerID, attempt: base + kept, previous: true,
				since: opts.Since, times: opts.Times})
		}
		if kept > 0 {
			lost = append(lost, lostRuns{container: cs.Name, first: base, last: base + kept - 1})
		}
		if cs.State.Running != nil || cs.State.Terminated != nil {
			id := cs.ContainerID
			if t := cs.State.Terminated; t != nil && t.ContainerID != "" {
				id = t.ContainerID
			}
			out = append(out, stream{pod: pod, container: cs.Name, containerID: id, attempt: base + cs.RestartCount,
				since: opts.Since, times: opts.Times})
		}
	}
	return out, lost
}

// noteLost says on stderr which runs' logs the kubelet no longer keeps.
func (b *backend) noteLost(pod *corev1.Pod, lost []lostRuns) {
	if b.stderr == nil {
		return
	}
	for _, l := range lost {
		runs := fmt.Sprintf("attempt %d", l.first)
		if l.last > l.first {
			runs = fmt.Sprintf("attempts %d-%d", l.first, l.last)
		}
		fmt.Fprintf(b.stderr, "batchctl: note: pod %s/%s: the log of %s is gone: the kubelet keeps only the current and the previous run of a container\n",
			pod.Name, l.container, runs)
	}
}

// copyStream sends one run's lines to sink, from the API server's log of the
// pod (as the clients' podLogs, with a pace of its own). Lines are read whole up to
// maxLine bytes (kubectl's scanner cuts them at 64 KiB), longer ones in
// pieces of maxLine, and a partial last line is kept.
//
// With Times or Since the log is asked for with the kubelet's timestamps
// (the time the runtime took each line in), which are cut off again: Times
// passes them on in LogSource.At. Since is sent as sinceTime, which the API
// carries in whole seconds (metav1.Time), so the kubelet may send lines of
// up to a second before it: each line is checked against it exactly.
func (b *backend) copyStream(ctx context.Context, s stream, follow bool, sink backends.LogSink) error {
	ref := backends.Ref{Name: s.pod.Name, Namespace: s.pod.Namespace}
	logOpts := &corev1.PodLogOptions{
		Container: s.container, Previous: s.previous, Follow: follow && !s.previous, Timestamps: s.stamped(),
	}
	if !s.since.IsZero() {
		logOpts.SinceTime = &metav1.Time{Time: s.since}
	}
	var rc io.ReadCloser
	err := b.call(ctx, "logs", ref, func(ctx context.Context) error {
		var err error
		rc, err = b.client.core.Get().Namespace(s.pod.Namespace).Resource("pods").Name(s.pod.Name).SubResource("log").
			VersionedParams(logOpts, b.client.params).
			Throttle(logLimiter).
			Stream(ctx)
		return err
	})
	switch {
	case errors.Is(err, backends.ErrNotFound):
		return nil // the pod was garbage-collected meanwhile: nothing left to read
	case err != nil && apierrors.IsBadRequest(err):
		// The kubelet has no such run (any more): its container was
		// removed, or the pod was deleted, after the pod status said it
		// ran. Its output is gone; the other streams go on.
		return nil
	case err != nil:
		return err
	}
	defer rc.Close()
	src := backends.LogSource{Pod: s.pod.Name, Index: podIndex(s.pod), Attempt: s.attempt, Container: s.container}
	// A container the kubelet has removed (its garbage collection keeps one
	// dead container per container: a finished pod's previous run goes
	// within a minute) is answered with 200 and this one line, not with an
	// error status: it is not the container's output.
	gone := "unable to retrieve container logs for " + s.containerID
	var held []byte
	first := true
	err = readLogLines(rc, maxLine, s.stamped(), func(at time.Time, line []byte) {
		// (The kubelet's own message has no timestamp: it is not skipped.)
		skip := !s.since.IsZero() && !at.IsZero() && at.Before(s.since)
		src := src
		if s.times {
			src.At = at
		}
		switch {
		case first && s.containerID != "" && at.IsZero() && string(line) == gone:
			held = append([]byte(nil), line...)
		case held != nil:
			sink.Line(src, string(held))
			held = nil
			if !skip {
				sink.Line(src, string(line))
			}
		case !skip:
			sink.Line(src, string(line))
		}
		first = false
	})
	if held != nil && err == nil {
		b.noteGone(s)
		return nil
	}
	if held != nil {
		sink.Line(src, string(held))
	}
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return b.classify("logs", ref, err)
}

// noteGone says on stderr that a run's container, and its log, are gone.
func (b *backend) noteGone(s stream) {
	if b.stderr != nil {
		fmt.Fprintf(b.stderr, "batchctl: note: pod %s/%s: the log of attempt %d is gone: the kubelet removed its container\n",
			s.pod.Name, s.container, s.attempt)
	}
}

// readLines calls fn with every line of r, without its newline; a line
// longer than limit bytes comes in pieces of limit bytes. Memory stays within
// limit plus the reader's buffer. A last line without a newline is passed on
// too. It returns r's error, nil at EOF.
func readLines(r io.Reader, limit int, fn func([]byte)) error {
	return readLogLines(r, limit, false, func(_ time.Time, line []byte) { fn(line) })
}

// readLogLines is readLines of a log that, when stamped, begins every line
// with the kubelet's timestamp and a space (PodLogOptions.Timestamps): fn
// gets the time, and the line without it. The kubelet stamps a line once,
// however long (a line the runtime split is joined first), so every piece
// of a long line gets its line's time; and limit counts the line without
// its timestamp, so the pieces are those of the same log read without. A
// line that does not begin with a timestamp (the kubelet's own message that
// a container's log is gone) comes whole, with the zero time.
func readLogLines(r io.Reader, limit int, stamped bool, fn func(at time.Time, line []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := make([]byte, 0, 64<<10)
	var at time.Time
	start := true // the next fragment begins a line
	for {
		frag, err := br.ReadSlice('\n')
		content, eol := frag, false
		if err == nil {
			content, eol = frag[:len(frag)-1], true
		}
		// The first fragment of a line holds its timestamp whole: ReadSlice
		// returns less than its 64 KiB buffer only at a newline or an error.
		if start && len(frag) > 0 {
			at = time.Time{}
			if stamped {
				at, content = cutTimestamp(content)
			}
			start = false
		}
		for len(line)+len(content) > limit {
			n := limit - len(line)
			line = append(line, content[:n]...)
			fn(at, line)
			line, content = line[:0], content[n:]
		}
		line = append(line, content...)
		switch {
		case eol:
			fn(at, line)
			line, start = line[:0], true
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			if len(line) > 0 {
				fn(at, line)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// maxStamp bounds the timestamp the kubelet puts before a line:
// 2006-01-02T15:04:05.000000000+07:00 is 35 bytes.
const maxStamp = 40

// cutTimestamp splits the kubelet's "TIMESTAMP " off the start of b (RFC
// 3339, nanoseconds; the runtime's zone), returning the time in UTC and the
// rest; the zero time and b unchanged when b does not begin with one.
func cutTimestamp(b []byte) (time.Time, []byte) {
	i := bytes.IndexByte(b[:min(len(b), maxStamp+1)], ' ')
	if i < 0 {
		return time.Time{}, b
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, b
	}
	return t.UTC(), b[i+1:]
}

// follow streams every container run as it starts, from a pod watch, until
// the job is finished and the streams are drained: pods from
// ContainerCreating on, each in-place restart as a new attempt.
func (b *backend) follow(ctx context.Context, ref backends.Ref, job *batchv1.Job, opts backends.LogOptions, sink backends.LogSink) error {
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()

	var (
		mu       sync.Mutex
		started  = map[string]bool{}
		noted    = map[string]bool{}
		seen     = map[string]corev1.Pod{} // every pod reported so far, to number attempts
		wg       sync.WaitGroup
		firstErr error
	)
	start := func(pod *corev1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		seen[pod.Name] = *pod
		all := make([]corev1.Pod, 0, len(seen))
		for _, p := range seen {
			all = append(all, p)
		}
		streams, lost := streamsOf(pod, attemptBase(pod, all), opts)
		for _, l := range lost {
			// Runs that came and went before this follow began.
			if k := fmt.Sprintf("%s/%s/%d", pod.Name, l.container, l.last); !noted[k] && !started[k] {
				noted[k] = true
				b.noteLost(pod, []lostRuns{l})
			}
		}
		for _, s := range streams {
			if started[s.key()] {
				continue
			}
			started[s.key()] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.copyStream(streamCtx, s, true, sink); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
	}

	selector := podSelector(job)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return b.client.listPods(ctx, job.Namespace, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return b.client.watch(ctx, job.Namespace, "pods", o)
		},
	}
	podsDone := make(chan struct{})
	go func() {
		defer close(podsDone)
		// The synced store seeds the whole pod set first, so pods that
		// already exist are numbered knowing all their predecessors.
		seed := func(store cache.Store) (bool, error) {
			mu.Lock()
			for _, o := range store.List() {
				if pod, ok := o.(*corev1.Pod); ok {
					seen[pod.Name] = *pod
				}
			}
			mu.Unlock()
			return false, nil
		}
		_, _ = watchtools.UntilWithSync(watchCtx, lw, &corev1.Pod{}, seed, func(ev watch.Event) (bool, error) {
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				start(pod)
			}
			return false, nil
		})
	}()

	err := b.watch(ctx, ref, false, func(st *backends.Status) bool { return st.Phase.Terminal() })
	stopWatch()
	<-podsDone
	if err != nil {
		return err
	}
	// The pod watch may lag the job's: one last list catches the runs it
	// had not reported yet, and says how long pods still stopping may
	// write.
	drainUntil := time.Now().Add(drainGrace)
	if pods, err := b.pods(ctx, job); err == nil {
		for i := range pods {
			start(&pods[i])
			if t := pods[i].DeletionTimestamp; t != nil && t.Add(drainGrace).After(drainUntil) {
				drainUntil = t.Add(drainGrace)
			}
		}
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timer := time.NewTimer(time.Until(drainUntil))
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		stopStreams()
		<-drained
	case <-ctx.Done():
		stopStreams()
		<-drained
		return ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return firstErr
}
