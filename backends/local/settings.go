package local

import (
	"io"
	"path/filepath"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/config"
)

// Registration is the local backend's entry in backends/all.
var Registration = backends.Registration{
	Name:  "local",
	Usage: "processes on this machine, supervised in the background",
	Settings: []config.Setting{
		{Key: "local.state-dir", Env: "BATCHCTL_LOCAL_STATE_DIR", Type: config.Path, Derive: defaultStateDir,
			Help: "job records and logs; default $XDG_STATE_HOME/batchctl, else ~/.local/state/batchctl"},
		{Key: "local.backoff", Env: "BATCHCTL_LOCAL_BACKOFF", Default: "10s", Type: config.Duration,
			Help: "first retry delay after a failure, doubled per failure (the Job controller's)"},
		{Key: "local.backoff-cap", Env: "BATCHCTL_LOCAL_BACKOFF_CAP", Default: "10m", Type: config.Duration,
			Help: "longest retry delay"},
		{Key: "local.runtime", Env: "BATCHCTL_LOCAL_RUNTIME", Default: RuntimeExec, Type: config.Choice,
			Choices: []string{RuntimeExec, RuntimeDocker},
			Help:    "how pods run: exec (processes on this machine; needs nothing installed) or docker (containers of a Docker daemon, images pulled)"},
		{Key: "local.docker-host", Env: "BATCHCTL_LOCAL_DOCKER_HOST", FallbackEnv: "DOCKER_HOST",
			Help: "the Docker daemon of runtime docker, as DOCKER_HOST (unix:///var/run/docker.sock when unset); DOCKER_TLS_VERIFY and DOCKER_CERT_PATH apply as for the Docker CLI"},
		{Key: "local.allow-host-path", Env: "BATCHCTL_LOCAL_ALLOW_HOST_PATH", Default: "false", Type: config.Bool,
			Help: "let runtime docker mount hostPath volumes (paths on the daemon's machine); refused otherwise"},
	},
	New: New,
}

// Options configure the local backend; New reads them from the settings.
type Options struct {
	// StateDir holds job records and logs.
	StateDir string
	// Namespace is the one in force; "" is "default".
	Namespace string
	// Backoff is the first retry delay after a failed pod, used as given (0
	// retries at once); it doubles per failure up to BackoffCap (0: 10m).
	Backoff, BackoffCap time.Duration
	// Runtime runs the pods: RuntimeExec (the default) or RuntimeDocker.
	Runtime string
	// DockerHost is the daemon of RuntimeDocker (DOCKER_HOST's form); ""
	// is the Docker CLI's default. TLS comes from DOCKER_TLS_VERIFY and
	// DOCKER_CERT_PATH.
	DockerHost string
	// AllowHostPath lets RuntimeDocker mount hostPath volumes.
	AllowHostPath bool
	// HiddenEnv names variables of batchctl's own (credentials) that jobs
	// must not inherit, besides every BATCHCTL_* one.
	HiddenEnv []string
}

// New is the local backend's factory.
func New(v *config.View, stderr io.Writer) (backends.Backend, error) {
	return Open(Options{
		StateDir:      v.String("local.state-dir"),
		Namespace:     v.String(backends.NamespaceKey),
		Backoff:       v.Duration("local.backoff"),
		BackoffCap:    v.Duration("local.backoff-cap"),
		Runtime:       v.String("local.runtime"),
		DockerHost:    v.String("local.docker-host"),
		AllowHostPath: v.Bool("local.allow-host-path"),
		HiddenEnv:     v.ConsumedEnv(),
	}, stderr)
}

// The runtimes (local.runtime).
const (
	RuntimeExec   = "exec"
	RuntimeDocker = "docker"
)

// defaultStateDir follows the XDG base directory spec.
func defaultStateDir(v *config.View) (string, string, bool) {
	if base := v.Getenv("XDG_STATE_HOME"); base != "" {
		return filepath.Join(base, "batchctl"), "env XDG_STATE_HOME", true
	}
	if home := v.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "batchctl"), "default (~/.local/state/batchctl)", true
	}
	return "", "", false
}
