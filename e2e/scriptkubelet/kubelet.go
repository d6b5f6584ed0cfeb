//go:build linux

// Package scriptkubelet is a kubelet for end-to-end tests whose containers
// do what a script says instead of running images: it registers a Node,
// keeps its Lease fresh, and plays every pod bound to it (spec.nodeName) as
// the real kubelet would, writing the pod status the Job controller reads:
// init containers one by one, containers Running, terminated with the
// scripted exit code, the pod phase as the kubelet computes it, in-place
// restarts with the kubelet's crash-loop backoff, pod activeDeadlineSeconds,
// node-pressure eviction, and graceful deletion (SIGTERM, SIGKILL after the
// grace period, then the final delete).
//
// The node carries a NoSchedule taint, so the scheduler never places other
// pods on it; pods reach it only through spec.nodeName.
package scriptkubelet

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/batchctl/batchctl/backends/jobcontroller/scenario"
)

// Taint keeps the scheduler away from the scripted node.
const Taint = "batchctl.dev/scriptkubelet"

// Options configure Start.
type Options struct {
	NodeName string // default "scriptkubelet"
	// Behaviour says what the start-th start (0-based, counted per
	// container) of container does in a pod of job (its name; "" for a pod
	// no Job owns) in namespace at completion index (nil: NonIndexed).
	Behaviour func(namespace, job string, index *int32, start int, container string) scenario.Effect
	Logf      func(format string, args ...any) // errors; nil: silent
	// Trace, when set, gets a line for every container start and exit and
	// pod state change, by namespace.
	Trace func(namespace, line string)
}

// Kubelet plays the pods bound to one node.
type Kubelet struct {
	c    *Client
	opts Options

	mu      sync.Mutex
	pods    map[types.UID]*podRunner
	starts  map[jobKey]map[string]int // pods created + in-place restarts, per index key
	cstarts map[containerKey]int      // starts so far, per container
	ips     int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type jobKey struct{ ns, job string }

type containerKey struct {
	jobKey
	index, container string
}

// Start registers the node, starts its heartbeat and begins playing pods.
// It returns once the node is Ready and the pod informer has synced.
func Start(ctx context.Context, c *Client, opts Options) (*Kubelet, error) {
	if opts.NodeName == "" {
		opts.NodeName = "scriptkubelet"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Behaviour == nil {
		return nil, fmt.Errorf("scriptkubelet: Options.Behaviour is required")
	}
	k := &Kubelet{c: c, opts: opts, pods: map[types.UID]*podRunner{}, starts: map[jobKey]map[string]int{}, cstarts: map[containerKey]int{}}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	if err := k.register(ctx); err != nil {
		k.cancel()
		return nil, err
	}
	k.wg.Add(1)
	go func() { defer k.wg.Done(); k.heartbeat() }()

	lw := c.ListWatch("", "pods", func() runtime.Object { return &corev1.PodList{} }, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", opts.NodeName).String()
	})
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { k.observe(o.(*corev1.Pod)) },
		UpdateFunc: func(_, o any) { k.observe(o.(*corev1.Pod)) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				k.forget(p)
			}
		},
	})
	if err != nil {
		k.Stop()
		return nil, err
	}
	k.wg.Add(1)
	go func() { defer k.wg.Done(); inf.RunWithContext(k.ctx) }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		k.Stop()
		return nil, fmt.Errorf("scriptkubelet: pod informer did not sync: %v", ctx.Err())
	}
	opts.Logf("scriptkubelet: node %s ready", opts.NodeName)
	return k, nil
}

// NodeName is the node pods must name in spec.nodeName.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// Stop stops playing pods (their containers simply stop being updated) and
// the heartbeat. The Node object is left.
func (k *Kubelet) Stop() {
	k.cancel()
	k.wg.Wait()
}

// Starts reports, per completion index ("0", "1", …, or "*" for NonIndexed),
// how many pods of job in ns this kubelet saw plus how many containers it
// restarted in place in them.
func (k *Kubelet) Starts(ns, job string) map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for i, n := range k.starts[jobKey{ns, job}] {
		out[i] = n
	}
	return out
}

// countStart records a new pod or an in-place restart.
func (k *Kubelet) countStart(jk jobKey, index string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.starts[jk] == nil {
		k.starts[jk] = map[string]int{}
	}
	k.starts[jk][index]++
}

// nextContainerStart numbers a start of one container of an index.
func (k *Kubelet) nextContainerStart(jk jobKey, index, container string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := containerKey{jk, index, container}
	n := k.cstarts[key]
	k.cstarts[key]++
	return n
}

func (k *Kubelet) nextIP() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ips++
	return fmt.Sprintf("10.99.%d.%d", k.ips/250, k.ips%250+1)
}

// observe hands the latest pod object to its runner, creating it for a
// pod seen for the first time.
func (k *Kubelet) observe(p *corev1.Pod) {
	if k.ctx.Err() != nil {
		return
	}
	k.mu.Lock()
	r := k.pods[p.UID]
	if r == nil {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			k.mu.Unlock()
			return // finished before this kubelet started: nothing to play
		}
		r = newPodRunner(k, p)
		k.pods[p.UID] = r
		k.wg.Add(1)
		go func() { defer k.wg.Done(); r.loop() }()
	}
	k.mu.Unlock()
	r.post(func() { r.update(p) })
}

func (k *Kubelet) forget(p *corev1.Pod) {
	k.mu.Lock()
	r := k.pods[p.UID]
	delete(k.pods, p.UID)
	k.mu.Unlock()
	if r != nil {
		r.post(r.gone)
	}
}

// podJob names the Job owning p and p's completion index (nil when not
// Indexed).
func podJob(p *corev1.Pod) (job string, index *int32) {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == "Job" {
			job = o.Name
		}
	}
	if v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]; ok {
		if i, err := strconv.ParseInt(v, 10, 32); err == nil {
			i32 := int32(i)
			index = &i32
		}
	}
	return job, index
}

// Kubelet timing constants, as in pkg/kubelet (Kubernetes 1.36).
const (
	// crash-loop backoff: the first restart is immediate, then 10 s doubling
	// to 300 s; reset when a container ran 10 minutes since the last one.
	initialCrashLoopBackOff = 10 * time.Second
	maxCrashLoopBackOff     = 300 * time.Second
	crashLoopBackOffReset   = 600 * time.Second
	// hard eviction gives the pod 1 s (immediateEvictionGracePeriodSeconds).
	evictionGracePeriod = time.Second
	// the default terminationGracePeriodSeconds.
	defaultGracePeriod = 30 * time.Second
)
