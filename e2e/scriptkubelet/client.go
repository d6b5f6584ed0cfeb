//go:build linux

package scriptkubelet

// REST clients over a small scheme, as backends/k8s does: the typed
// clientset would bring modules batchctl's go.mod does not carry.

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
)

// Client reaches the resources the harness uses: pods, nodes, namespaces,
// service accounts (core/v1), jobs (batch/v1) and leases (coordination/v1).
type Client struct {
	core, batch, coordination rest.Interface
	params                    runtime.ParameterCodec
}

// NewClientFromKubeconfig builds a Client for the kubeconfig at path.
func NewClientFromKubeconfig(path string) (*Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	return NewClient(cfg)
}

// NewClient builds a Client. Client-side rate limiting is lifted: one
// client plays a whole node (or runs a whole corpus) against a test server.
func NewClient(cfg *rest.Config) (*Client, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme, coordinationv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	codecs := serializer.NewCodecFactory(scheme)
	base := *cfg
	base.QPS, base.Burst = 1000, 2000
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
	out := &Client{params: runtime.NewParameterCodec(scheme)}
	if out.core, err = client(corev1.SchemeGroupVersion, "/api"); err != nil {
		return nil, err
	}
	if out.batch, err = client(batchv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	if out.coordination, err = client(coordinationv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) group(resource string) rest.Interface {
	switch resource {
	case "jobs":
		return c.batch
	case "leases":
		return c.coordination
	}
	return c.core
}

// Request starts a request on resource in ns ("" for cluster-scoped ones).
func (c *Client) Request(verb, ns, resource string) *rest.Request {
	return c.group(resource).Verb(verb).NamespaceIfScoped(ns, ns != "").Resource(resource)
}

// Get reads one object into into.
func (c *Client) Get(ctx context.Context, ns, resource, name string, into runtime.Object) error {
	return c.Request("GET", ns, resource).Name(name).Do(ctx).Into(into)
}

// Create creates obj and reads the result into into (nil: discard it).
func (c *Client) Create(ctx context.Context, ns, resource string, obj runtime.Object, into runtime.Object) error {
	r := c.Request("POST", ns, resource).Body(obj).Do(ctx)
	if into == nil {
		return r.Error()
	}
	return r.Into(into)
}

// Patch patches name (or its subresource, when not "").
func (c *Client) Patch(ctx context.Context, ns, resource, name, subresource string, pt types.PatchType, data []byte) error {
	r := c.group(resource).Patch(pt).NamespaceIfScoped(ns, ns != "").Resource(resource).Name(name)
	if subresource != "" {
		r = r.SubResource(subresource)
	}
	return r.Body(data).Do(ctx).Error()
}

// Delete deletes name with opts.
func (c *Client) Delete(ctx context.Context, ns, resource, name string, opts metav1.DeleteOptions) error {
	return c.Request("DELETE", ns, resource).Name(name).Body(&opts).Do(ctx).Error()
}

// ListWatch lists and watches resource in ns (list a *XList), with
// tweak applied to every request's options (selectors).
func (c *Client) ListWatch(ns, resource string, newList func() runtime.Object, tweak func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			list := newList()
			err := c.Request("GET", ns, resource).VersionedParams(&o, c.params).Do(ctx).Into(list)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			o.Watch = true
			return c.Request("GET", ns, resource).VersionedParams(&o, c.params).Watch(ctx)
		},
	}
}

// WaitFor lists and watches lw until cond holds for an added or modified
// object (of obj's type), and returns that object.
func WaitFor(ctx context.Context, lw cache.ListerWatcher, obj runtime.Object, cond func(runtime.Object) bool) (runtime.Object, error) {
	ev, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Added, watch.Modified:
			return cond(e.Object), nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return ev.Object, nil
}
