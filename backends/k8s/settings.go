package k8s

import (
	"io"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/config"
)

// Registration is the k8s backend's entry in backends/all.
var Registration = backends.Registration{
	Name:  Name,
	Usage: "Kubernetes: a real batch/v1 Job",
	Settings: []config.Setting{
		{Key: "k8s.kubeconfig", Env: "BATCHCTL_K8S_KUBECONFIG", Type: config.Path, Flag: "kubeconfig",
			FallbackEnv: clientcmd.RecommendedConfigPathEnvVar, Derive: defaultKubeconfig,
			Help: "kubeconfig file; default $KUBECONFIG, ~/.kube/config, then in-cluster"},
		{Key: "k8s.context", Env: "BATCHCTL_K8S_CONTEXT", Flag: "kube-context", Derive: currentContext,
			Help: "kubeconfig context; default its current-context"},
		{Key: "k8s.trace", Env: "BATCHCTL_K8S_TRACE", Default: "false", Type: config.Bool,
			Help: "count API requests and print the counts on stderr when the command ends"},
	},
	New: New,
}

// Options configure the k8s backend; New reads them from the settings.
type Options struct {
	// Kubeconfig is an explicit kubeconfig file; "" follows kubectl's
	// rules (KUBECONFIG, ~/.kube/config, in-cluster).
	Kubeconfig string
	// Context is an explicit kubeconfig context; "" is its current-context.
	Context string
	// Namespace is -n or the batchctl context's; "" is the kubeconfig
	// context's, else "default".
	Namespace string
	Trace     bool
}

// New is the k8s backend's factory. Only values batchctl's own layers set
// are applied: client-go applies KUBECONFIG and current-context itself,
// exactly as `config view` derives them.
func New(v *config.View, stderr io.Writer) (backends.Backend, error) {
	return Open(Options{
		Kubeconfig: v.Layered("k8s.kubeconfig"),
		Context:    v.Layered("k8s.context"),
		Namespace:  v.String(backends.NamespaceKey),
		Trace:      v.Bool("k8s.trace"),
	}, stderr)
}

// defaultKubeconfig is kubectl's default file, or the in-cluster config.
func defaultKubeconfig(v *config.View) (string, string, bool) {
	if home := v.Getenv("HOME"); home != "" {
		p := filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
		if _, err := os.Stat(p); err == nil {
			return p, "default (~/.kube/config)", true
		}
	}
	if v.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return "", "in-cluster service account", true
	}
	return "", "", false
}

// currentContext reads the kubeconfig's current-context, as kubectl would.
func currentContext(v *config.View) (string, string, bool) {
	rules := &clientcmd.ClientConfigLoadingRules{}
	path := v.String("k8s.kubeconfig")
	if path == "" {
		return "", "", false
	}
	if v.Layered("k8s.kubeconfig") != "" {
		rules.ExplicitPath = path
	} else {
		rules.Precedence = filepath.SplitList(path)
	}
	cfg, err := rules.Load()
	if err != nil || cfg.CurrentContext == "" {
		return "", "", false
	}
	return cfg.CurrentContext, "current-context of " + path, true
}
