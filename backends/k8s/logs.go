package k8s

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/batchctl/batchctl/backends"
)

// drainGrace bounds how long a following stream may outlive the finished
// job: a kubelet normally closes it when the container exits.
const drainGrace = 5 * time.Second

// stream is one container run's log: the current one, or with previous the
// run before an in-place restart (the kubelet keeps exactly one).
type stream struct {
	pod       *corev1.Pod
	container string
	attempt   int32
	previous  bool
}

func (s stream) key() string {
	return fmt.Sprintf("%s/%s/%d", s.pod.Name, s.container, s.attempt)
}

// Logs prints every pod of the job, finished and failed ones included.
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
		for i := range pods {
			for _, s := range streamsOf(&pods[i], priorFailures(&pods[i], pods), opts) {
				if err := b.copyStream(ctx, s, false, sink); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return b.follow(ctx, ref, job, opts, sink)
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

// streamsOf lists the runs of pod that have output to read: started
// containers only, so a container still being created is waited for, not
// an error.
func streamsOf(pod *corev1.Pod, base int32, opts backends.LogOptions) []stream {
	if opts.Index != nil {
		if idx := podIndex(pod); idx == nil || *idx != *opts.Index {
			return nil
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	var out []stream
	for _, cs := range statuses {
		if opts.Container != "" && cs.Name != opts.Container {
			continue
		}
		if cs.RestartCount > 0 && cs.LastTerminationState.Terminated != nil {
			out = append(out, stream{pod: pod, container: cs.Name, attempt: base + cs.RestartCount - 1, previous: true})
		}
		if cs.State.Running != nil || cs.State.Terminated != nil {
			out = append(out, stream{pod: pod, container: cs.Name, attempt: base + cs.RestartCount})
		}
	}
	return out
}

// copyStream sends one run's lines to sink. Lines are read whole, however
// long (kubectl's scanner cuts them), and a partial last line is kept.
func (b *backend) copyStream(ctx context.Context, s stream, follow bool, sink backends.LogSink) error {
	ref := backends.Ref{Name: s.pod.Name, Namespace: s.pod.Namespace}
	var rc io.ReadCloser
	err := b.call(ctx, "logs", ref, func(ctx context.Context) error {
		var err error
		rc, err = b.client.podLogs(ctx, s.pod.Namespace, s.pod.Name, &corev1.PodLogOptions{
			Container: s.container, Previous: s.previous, Follow: follow && !s.previous,
		})
		return err
	})
	if errors.Is(err, backends.ErrNotFound) {
		return nil // the pod was garbage-collected meanwhile: nothing left to read
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	src := backends.LogSource{Pod: s.pod.Name, Index: podIndex(s.pod), Attempt: s.attempt, Container: s.container}
	r := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			sink.Line(src, strings.TrimSuffix(line, "\n"))
		}
		if err == io.EOF || (err != nil && ctx.Err() != nil) {
			return nil
		}
		if err != nil {
			return b.classify("logs", ref, err)
		}
	}
}

// follow streams every container run as it starts, from a pod watch, until
// the job is finished and the streams are drained.
func (b *backend) follow(ctx context.Context, ref backends.Ref, job *batchv1.Job, opts backends.LogOptions, sink backends.LogSink) error {
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()

	var (
		mu       sync.Mutex
		started  = map[string]bool{}
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
		for _, s := range streamsOf(pod, priorFailures(pod, all), opts) {
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

	err := b.Watch(ctx, ref, func(st *backends.Status) bool { return st.Phase.Terminal() })
	stopWatch()
	<-podsDone
	if err != nil {
		return err
	}
	// The pod watch may lag the job's: one last list catches the runs it
	// had not reported yet.
	if pods, err := b.pods(ctx, job); err == nil {
		for i := range pods {
			start(&pods[i])
		}
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainGrace):
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
