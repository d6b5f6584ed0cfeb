package k8s

// The backend reaches the API server through two REST clients over a small
// local scheme (batch/v1 and core/v1) instead of client-go's kubernetes
// clientset. The clientset links every API group's typed client, and its
// kubernetes/scheme registers all of them at init: that cost about 13 MiB of
// RSS at the start of every batchctl command, `batchctl version` included.
// Nothing here runs until a command first needs the cluster.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/batchctl/batchctl/backends/remote"
)

// clients holds the REST clients for the two API groups batchctl uses.
type clients struct {
	batch  rest.Interface // batch/v1: jobs
	core   rest.Interface // core/v1: pods, their logs, events
	params runtime.ParameterCodec
}

// The clients' pace when the rest.Config sets none (see newClients).
const (
	defaultQPS   = 50
	defaultBurst = 100
)

// newClients builds the clients the way kubernetes.NewForConfig would for
// these two groups: one shared HTTP client (so cfg.Wrap, the request trace,
// covers both), a shared rate limiter when cfg sets a QPS, and the generated
// clients' codec choice.
func newClients(cfg *rest.Config) (*clients, error) {
	scheme := runtime.NewScheme()
	if err := batchv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs := rest.CodecFactoryForGeneratedClient(scheme, serializer.NewCodecFactory(scheme))

	base := *cfg
	if base.UserAgent == "" {
		base.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	// client-go's default when no QPS is set, 5 requests a second after a
	// burst of 10 (kubernetes.NewForConfig's too), makes a command that
	// needs many requests (describe, logs of many pods, wait of many jobs,
	// retry's submits) wait on the client's own limiter rather than on the
	// API server, which has its own fairness (API Priority and Fairness).
	// A kubeconfig cannot set a QPS, so this applies unless a caller's
	// rest.Config sets one.
	if base.RateLimiter == nil && base.QPS == 0 {
		base.QPS, base.Burst = defaultQPS, defaultBurst
	}
	if base.RateLimiter == nil && base.QPS > 0 {
		if base.Burst <= 0 {
			return nil, errors.New("burst is required to be greater than 0 when RateLimiter is not set and QPS is set to greater than 0")
		}
		base.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(base.QPS, base.Burst)
	}
	stallDetection(&base)
	httpClient, err := rest.HTTPClientFor(&base)
	if err != nil {
		return nil, err
	}
	client := func(gv schema.GroupVersion, apiPath string) (rest.Interface, error) {
		c := base
		c.GroupVersion = &gv
		c.APIPath = apiPath
		c.NegotiatedSerializer = codecs.WithoutConversion()
		return rest.RESTClientForConfigAndClient(&c, httpClient)
	}
	out := &clients{params: runtime.NewParameterCodec(scheme)}
	if out.batch, err = client(batchv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	if out.core, err = client(corev1.SchemeGroupVersion, "/api"); err != nil {
		return nil, err
	}
	return out, nil
}

// request starts a request on a namespaced resource ("" is every namespace),
// asking for protobuf first as the generated clients do for built-in types.
func (c *clients) request(verb, ns, resource string) *rest.Request {
	rc := c.core
	if resource == "jobs" {
		rc = c.batch
	}
	return rc.Verb(verb).UseProtobufAsDefault().Namespace(ns).Resource(resource)
}

func (c *clients) getJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := c.request("GET", ns, "jobs").Name(name).
		VersionedParams(&metav1.GetOptions{}, c.params).
		Do(ctx).Into(job)
	return job, err
}

func (c *clients) createJob(ctx context.Context, obj *batchv1.Job, opts metav1.CreateOptions) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := c.request("POST", obj.Namespace, "jobs").
		VersionedParams(&opts, c.params).
		Body(obj).
		Do(ctx).Into(job)
	return job, err
}

// patchJob applies a JSON merge patch to a job.
func (c *clients) patchJob(ctx context.Context, ns, name string, patch []byte) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := c.request("PATCH", ns, "jobs").Name(name).
		SetHeader("Content-Type", string(types.MergePatchType)).
		VersionedParams(&metav1.PatchOptions{FieldManager: "batchctl"}, c.params).
		Body(patch).
		Do(ctx).Into(job)
	return job, err
}

func (c *clients) deleteJob(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return c.request("DELETE", ns, "jobs").Name(name).Body(&opts).Do(ctx).Error()
}

// list reads resource in ns into list (a *batchv1.JobList, *corev1.PodList…).
func (c *clients) list(ctx context.Context, ns, resource string, opts metav1.ListOptions, list runtime.Object) error {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	return c.request("GET", ns, resource).
		VersionedParams(&opts, c.params).
		Timeout(timeout).
		Do(ctx).Into(list)
}

func (c *clients) watch(ctx context.Context, ns, resource string, opts metav1.ListOptions) (watch.Interface, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	opts.Watch = true
	return c.request("GET", ns, resource).
		VersionedParams(&opts, c.params).
		Timeout(timeout).
		Watch(ctx)
}

func (c *clients) listJobs(ctx context.Context, ns string, opts metav1.ListOptions) (*batchv1.JobList, error) {
	list := &batchv1.JobList{}
	return list, c.list(ctx, ns, "jobs", opts, list)
}

func (c *clients) listPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	list := &corev1.PodList{}
	return list, c.list(ctx, ns, "pods", opts, list)
}

func (c *clients) listEvents(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.EventList, error) {
	list := &corev1.EventList{}
	return list, c.list(ctx, ns, "events", opts, list)
}

// podLogs opens one container's log. Like the clientset's GetLogs it takes
// the server's default content type: the body is plain text.
func (c *clients) podLogs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.core.Get().Namespace(ns).Resource("pods").Name(pod).SubResource("log").
		VersionedParams(opts, c.params).
		Stream(ctx)
}

// stallDetection gives cfg's connections the HTTP/2 health check at
// remote.StallTimeout (client-go's own is 45 s, from environment variables),
// so that a connection gone silent — a watch in `wait` included — is dropped
// and the request or watch retried on a new one. The API server speaks
// HTTP/2; over HTTP/1.1 a watch is bounded by its own timeout instead.
//
// A Proxy of its own (the default one, from the environment) makes client-go
// build a transport for this client alone rather than share a cached one,
// so the health check set on it touches no other client. The wrapper sees
// that transport first, before any other wrapper (the request trace).
func stallDetection(cfg *rest.Config) {
	if cfg.Proxy == nil {
		cfg.Proxy = http.ProxyFromEnvironment
	}
	cfg.WrapTransport = transport.Wrappers(func(rt http.RoundTripper) http.RoundTripper {
		for inner := rt; inner != nil; {
			if t, ok := inner.(*http.Transport); ok {
				remote.HTTP2Health(t)
				break
			}
			w, ok := inner.(interface{ WrappedRoundTripper() http.RoundTripper })
			if !ok {
				break
			}
			inner = w.WrappedRoundTripper()
		}
		return rt
	}, cfg.WrapTransport)
}
