// Package config merges batchctl's settings: built-in defaults, then the
// config file, then BATCHCTL_* environment variables, then command-line
// flags, and resolves the named context in force.
package config

import "time"

// Settings are the effective settings one command runs with, after every
// layer and the current context are applied. Backends read their own part.
type Settings struct {
	Context   string // name of the context in force, "" when none
	Backend   string // local, k8s, nomad
	Namespace string // "" lets the backend choose (kubeconfig's, NOMAD_NAMESPACE, "default")

	Local LocalSettings
	K8s   K8sSettings
	Nomad NomadSettings
}

// LocalSettings configure the local backend.
type LocalSettings struct {
	// StateDir holds the job database and logs; default
	// $XDG_STATE_HOME/batchctl (~/.local/state/batchctl).
	StateDir string
	// Backoff is the first retry delay after a failed pod; it doubles per
	// failure up to BackoffCap, as in the Kubernetes Job controller.
	Backoff    time.Duration
	BackoffCap time.Duration
}

// K8sSettings configure the Kubernetes backend, as kubectl would be.
type K8sSettings struct {
	Kubeconfig string // "" follows KUBECONFIG, then ~/.kube/config, then in-cluster
	Context    string // kubeconfig context; "" uses its current-context
}

// Secret is a credential: fmt prints it redacted, so a stray %v of the
// settings cannot leak it. Use string(s) where the value is needed.
type Secret string

func (Secret) String() string   { return "<redacted>" }
func (Secret) GoString() string { return `"<redacted>"` }

// NomadSettings configure the Nomad backend, as the nomad CLI would be.
// Empty values fall back to the NOMAD_* environment variables.
type NomadSettings struct {
	Addr       string
	Token      Secret
	Region     string
	Namespace  string
	CACert     string
	ClientCert string
	ClientKey  string
	SkipVerify bool
	Driver     string // raw_exec, exec or docker
	// Backoff and BackoffCap set the restart and reschedule delays batchctl
	// writes into the job, as the Job controller's 10 s doubling to 10 min.
	Backoff    time.Duration
	BackoffCap time.Duration
}
