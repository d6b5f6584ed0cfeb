package nomad

import (
	"io"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/config"
)

// Registration is the nomad backend's entry in backends/all. Each
// connection setting falls back on the variable the nomad CLI reads.
var Registration = backends.Registration{
	Name:  Name,
	Usage: "HashiCorp Nomad: a batch job",
	Settings: []config.Setting{
		{Key: "nomad.addr", Env: "BATCHCTL_NOMAD_ADDR", FallbackEnv: "NOMAD_ADDR", Default: "http://127.0.0.1:4646",
			Help: "Nomad address; default $NOMAD_ADDR"},
		{Key: "nomad.token", Env: "BATCHCTL_NOMAD_TOKEN", FallbackEnv: "NOMAD_TOKEN", Secret: true,
			Help: "Nomad ACL token; default $NOMAD_TOKEN"},
		{Key: "nomad.region", Env: "BATCHCTL_NOMAD_REGION", FallbackEnv: "NOMAD_REGION",
			Help: "Nomad region; default $NOMAD_REGION"},
		{Key: "nomad.namespace", Env: "BATCHCTL_NOMAD_NAMESPACE", FallbackEnv: "NOMAD_NAMESPACE",
			Help: "Nomad namespace; default $NOMAD_NAMESPACE (-n wins)"},
		{Key: "nomad.ca-cert", Env: "BATCHCTL_NOMAD_CA_CERT", FallbackEnv: "NOMAD_CACERT", Type: config.Path,
			Help: "CA certificate file; default $NOMAD_CACERT"},
		{Key: "nomad.client-cert", Env: "BATCHCTL_NOMAD_CLIENT_CERT", FallbackEnv: "NOMAD_CLIENT_CERT", Type: config.Path,
			Help: "client certificate file; default $NOMAD_CLIENT_CERT"},
		{Key: "nomad.client-key", Env: "BATCHCTL_NOMAD_CLIENT_KEY", FallbackEnv: "NOMAD_CLIENT_KEY", Type: config.Path,
			Help: "client key file; default $NOMAD_CLIENT_KEY"},
		{Key: "nomad.skip-verify", Env: "BATCHCTL_NOMAD_SKIP_VERIFY", FallbackEnv: "NOMAD_SKIP_VERIFY", Default: "false", Type: config.Bool,
			Help: "skip TLS verification; default $NOMAD_SKIP_VERIFY"},
		{Key: "nomad.driver", Env: "BATCHCTL_NOMAD_DRIVER", Default: driverRawExec, Type: config.Choice,
			Choices: []string{driverRawExec, driverExec, driverDocker},
			Help:    "task driver: raw_exec, exec or docker"},
		{Key: "nomad.backoff", Env: "BATCHCTL_NOMAD_BACKOFF", Default: "10s", Type: config.Duration,
			Help: "first restart/reschedule delay, doubled per failure"},
		{Key: "nomad.backoff-cap", Env: "BATCHCTL_NOMAD_BACKOFF_CAP", Default: "10m", Type: config.Duration,
			Help: "longest restart/reschedule delay"},
	},
	New: New,
}

// Options configure the nomad backend; New reads them from the settings.
// Empty connection fields keep what the Nomad API client reads from the
// environment.
type Options struct {
	Addr, Region, Namespace       string
	Token                         config.Secret
	CACert, ClientCert, ClientKey string
	SkipVerify                    bool
	Driver                        string // raw_exec (default), exec or docker
	Backoff, BackoffCap           time.Duration
	// JobNamespace is -n or the batchctl context's: it wins over Namespace.
	JobNamespace string
}

// New is the nomad backend's factory.
func New(v *config.View, stderr io.Writer) (backends.Backend, error) {
	return Open(Options{
		Addr:         v.String("nomad.addr"),
		Token:        v.Secret("nomad.token"),
		Region:       v.String("nomad.region"),
		Namespace:    v.String("nomad.namespace"),
		CACert:       v.String("nomad.ca-cert"),
		ClientCert:   v.String("nomad.client-cert"),
		ClientKey:    v.String("nomad.client-key"),
		SkipVerify:   v.Bool("nomad.skip-verify"),
		Driver:       v.String("nomad.driver"),
		Backoff:      v.Duration("nomad.backoff"),
		BackoffCap:   v.Duration("nomad.backoff-cap"),
		JobNamespace: v.String(backends.NamespaceKey),
	}, stderr)
}
