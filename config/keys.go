package config

// Key is one setting: its dotted name in the config file, its environment
// variable, its built-in default and whether it is a secret.
type Key struct {
	Name    string
	Env     string
	Default string
	Secret  bool
	Help    string
}

// Keys lists every setting batchctl reads, in the order `config view` shows
// them. A context may set any of them except "context".
var Keys = []Key{
	{Name: "backend", Env: "BATCHCTL_BACKEND", Default: "local", Help: "backend to run jobs on: local, k8s, nomad"},
	{Name: "namespace", Env: "BATCHCTL_NAMESPACE", Help: "namespace; empty lets the backend choose"},
	{Name: "local.state-dir", Env: "BATCHCTL_LOCAL_STATE_DIR", Help: "job database and logs; default $XDG_STATE_HOME/batchctl"},
	{Name: "local.backoff", Env: "BATCHCTL_LOCAL_BACKOFF", Default: "10s", Help: "first retry delay after a failure, doubled per failure"},
	{Name: "local.backoff-cap", Env: "BATCHCTL_LOCAL_BACKOFF_CAP", Default: "10m", Help: "longest retry delay"},
	{Name: "k8s.kubeconfig", Env: "BATCHCTL_K8S_KUBECONFIG", Help: "kubeconfig file; default $KUBECONFIG, ~/.kube/config, in-cluster"},
	{Name: "k8s.context", Env: "BATCHCTL_K8S_CONTEXT", Help: "kubeconfig context; default its current-context"},
	{Name: "nomad.addr", Env: "BATCHCTL_NOMAD_ADDR", Help: "Nomad address; default $NOMAD_ADDR"},
	{Name: "nomad.token", Env: "BATCHCTL_NOMAD_TOKEN", Secret: true, Help: "Nomad ACL token; default $NOMAD_TOKEN"},
	{Name: "nomad.region", Env: "BATCHCTL_NOMAD_REGION", Help: "Nomad region; default $NOMAD_REGION"},
	{Name: "nomad.namespace", Env: "BATCHCTL_NOMAD_NAMESPACE", Help: "Nomad namespace; default $NOMAD_NAMESPACE"},
	{Name: "nomad.ca-cert", Env: "BATCHCTL_NOMAD_CA_CERT", Help: "CA certificate; default $NOMAD_CACERT"},
	{Name: "nomad.client-cert", Env: "BATCHCTL_NOMAD_CLIENT_CERT", Help: "client certificate; default $NOMAD_CLIENT_CERT"},
	{Name: "nomad.client-key", Env: "BATCHCTL_NOMAD_CLIENT_KEY", Secret: true, Help: "client key file; default $NOMAD_CLIENT_KEY"},
	{Name: "nomad.skip-verify", Env: "BATCHCTL_NOMAD_SKIP_VERIFY", Default: "false", Help: "skip TLS verification; default $NOMAD_SKIP_VERIFY"},
	{Name: "nomad.driver", Env: "BATCHCTL_NOMAD_DRIVER", Default: "raw_exec", Help: "task driver: raw_exec, exec or docker"},
	{Name: "nomad.backoff", Env: "BATCHCTL_NOMAD_BACKOFF", Default: "10s", Help: "first restart/reschedule delay, doubled per failure"},
	{Name: "nomad.backoff-cap", Env: "BATCHCTL_NOMAD_BACKOFF_CAP", Default: "10m", Help: "longest restart/reschedule delay"},
}

func lookupKey(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}
