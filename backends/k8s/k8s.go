// Package k8s runs batchctl jobs as real Kubernetes batch/v1 Jobs through
// client-go, connecting the way kubectl does.
package k8s

import (
	"io"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/batchctl/batchctl/backends"
)

var quietKlog sync.Once

// Name is the backend's registered name.
const Name = "k8s"

type backend struct {
	opts   Options
	loader clientcmd.ClientConfig
	stderr io.Writer
	trace  *requestCounter // nil unless BATCHCTL_K8S_TRACE is set

	once      sync.Once
	client    *clients
	host      string
	namespace string
	connErr   error
}

var _ backends.Backend = (*backend)(nil)
var _ backends.Describer = (*backend)(nil)
var _ backends.Suspender = (*backend)(nil)

// Open returns the Kubernetes backend. It reads no file and makes no request
// until a method needs the cluster, so `render --backend k8s` works offline.
func Open(o Options, stderr io.Writer) (backends.Backend, error) {
	// client-go's reflectors log every retry through klog; batchctl reports
	// errors itself, and a restarting API server is not the user's news.
	// Once per process: a backend's goroutines may still log while the next
	// one is opened.
	quietKlog.Do(func() { klog.SetLogger(logr.Discard()) })
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	b := &backend{
		opts:   o,
		loader: clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides),
		stderr: stderr,
	}
	if o.Trace {
		b.trace = &requestCounter{counts: map[string]int{}}
	}
	return b, nil
}

// connect loads kubeconfig (or in-cluster config) once.
func (b *backend) connect() error {
	b.once.Do(func() {
		var cfg *rest.Config
		cfg, b.connErr = b.loader.ClientConfig()
		if clientcmd.IsEmptyConfig(b.connErr) {
			// client-go's own words point at KUBERNETES_MASTER, which
			// nothing reads any more.
			b.connErr = &backends.Error{Kind: backends.ErrUnavailable, Op: "connect", Err: b.connErr,
				Msg: "no kubeconfig: none at $KUBECONFIG or ~/.kube/config, and not running in a cluster; " +
					"name one with --kubeconfig, BATCHCTL_K8S_KUBECONFIG or `batchctl config set k8s.kubeconfig PATH`"}
			return
		}
		if b.connErr != nil {
			b.connErr = &backends.Error{Kind: backends.ErrUnavailable, Op: "connect", Msg: "kubeconfig: " + b.connErr.Error()}
			return
		}
		cfg.UserAgent = "batchctl"
		if b.trace != nil {
			cfg.Wrap(b.trace.wrap)
		}
		b.host = cfg.Host
		b.client, b.connErr = newClients(cfg)
		if b.connErr != nil {
			b.connErr = &backends.Error{Kind: backends.ErrUnavailable, Op: "connect", Msg: b.connErr.Error()}
			return
		}
		b.namespace = b.kubeconfigNamespace()
	})
	return b.connErr
}

// kubeconfigNamespace is the namespace in force when neither -n nor the
// batchctl context names one: the kubeconfig context's, else "default".
func (b *backend) kubeconfigNamespace() string {
	if b.loader == nil {
		return "default"
	}
	ns, _, err := b.loader.Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

// ns resolves a ref's namespace: the ref's, then settings (-n, context),
// then kubeconfig's.
func (b *backend) ns(ref backends.Ref) string {
	switch {
	case ref.Namespace != "":
		return ref.Namespace
	case b.opts.Namespace != "":
		return b.opts.Namespace
	case b.namespace != "":
		return b.namespace
	}
	return b.kubeconfigNamespace()
}

func (b *backend) Info() backends.Info {
	return backends.Info{
		Name:             Name,
		DefaultNamespace: "default",
		Capabilities: backends.Capabilities{
			Native:         true,
			Parallelism:    true,
			RestartInPlace: true,
			Indexed:        true,
			Deadline:       true,
			TTL:            true,
			Suspend:        true,
			AttemptLogs:    true,
			LogTimes:       true,

			CronJobs: true, CronForbid: true, CronReplace: true, CronHistory: true,
		},
	}
}

// Close reports the request count when tracing; there is nothing to release.
func (b *backend) Close() error {
	if b.trace != nil && b.stderr != nil {
		b.trace.report(b.stderr)
	}
	return nil
}
