// Package nomad runs batchctl jobs as Nomad batch jobs through the Nomad HTTP
// API, connecting the way the nomad CLI does (NOMAD_ADDR, NOMAD_TOKEN, ...).
//
// One Kubernetes Job becomes one Nomad job of type batch with one task group
// (the pod template): completions is the group count, containers are tasks,
// init containers prestart tasks, restartPolicy and backoffLimit the group's
// restart and reschedule blocks. What Nomad cannot express is reported by
// Render (see translate.go); the status is derived from the allocations, so
// every command works from any process with no state of batchctl's own.
package nomad

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
	"github.com/batchctl/batchctl/jobspec"
)

// Name is the backend's registered name.
const Name = "nomad"

// Task drivers batchctl can translate a container for.
const (
	driverRawExec = "raw_exec"
	driverExec    = "exec"
	driverDocker  = "docker"
)

var (
	_ backends.Backend   = (*backend)(nil)
	_ backends.Describer = (*backend)(nil)
)

type backend struct {
	cfg       *api.Config
	namespace string
	driver    string
	backoff   time.Duration // first retry delay (Kubernetes: 10 s)
	maxDelay  time.Duration // retry delay ceiling
	stderr    io.Writer

	once      sync.Once
	client    *api.Client
	clientErr error
}

// Open returns the Nomad backend. It makes no request and reads no file: the
// client (and its TLS files) is set up by the first call that needs it, so
// `render --backend nomad` works offline.
func Open(o Options, stderr io.Writer) (backends.Backend, error) {
	if stderr == nil {
		stderr = io.Discard
	}
	cfg := api.DefaultConfig() // what the settings leave empty, as the CLI
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.Address, o.Addr)
	set(&cfg.SecretID, string(o.Token))
	set(&cfg.Region, o.Region)
	set(&cfg.Namespace, o.Namespace)
	set(&cfg.TLSConfig.CACert, o.CACert)
	set(&cfg.TLSConfig.ClientCert, o.ClientCert)
	set(&cfg.TLSConfig.ClientKey, o.ClientKey)
	if o.SkipVerify {
		cfg.TLSConfig.Insecure = true
	}
	set(&cfg.Namespace, o.JobNamespace) // -n wins over every other source
	ns := cfg.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	driver := o.Driver
	switch driver {
	case "":
		driver = driverRawExec
	case driverRawExec, driverExec, driverDocker:
	default:
		return nil, fmt.Errorf("nomad.driver %q: want %s, %s or %s", driver, driverRawExec, driverExec, driverDocker)
	}
	b := &backend{cfg: cfg, namespace: ns, driver: driver, stderr: stderr}
	b.backoff, b.maxDelay = o.Backoff, o.BackoffCap
	if b.backoff <= 0 {
		b.backoff = 10 * time.Second
	}
	if b.maxDelay <= 0 {
		b.maxDelay = 10 * time.Minute
	}
	b.maxDelay = max(b.backoff, b.maxDelay)
	return b, nil
}

func (b *backend) Info() backends.Info {
	return backends.Info{
		Name:             Name,
		DefaultNamespace: b.namespace,
		NativeFormat:     "json",
		Capabilities: backends.Capabilities{
			Parallelism:    false, // Nomad starts every allocation of a group at once
			RestartInPlace: true,
			Indexed:        true,
			Deadline:       false, // judged (DeadlineExceeded), but allocations are stopped only while batchctl watches
			TTL:            false, // only the server-wide job GC removes jobs
			Suspend:        false, // refused: Nomad would re-run completed allocations (cannotSuspend)
			AttemptLogs:    true,

			CronJobs:    true,
			CronForbid:  true,  // prohibit_overlap (a skipped run is not made up: see cron.go)
			CronReplace: false, // Nomad cannot stop the running job for the next
			CronHistory: true,  // emulated: batchctl purges when it reads the CronJob
		},
	}
}

// api returns the client, built once.
func (b *backend) api() (*api.Client, error) {
	b.once.Do(func() {
		if b.cfg.HttpClient == nil {
			// A server that accepts a request and then goes silent must not
			// hang a command: no response headers within the stall limit
			// (above a blocking query's longest wait) fail the request,
			// which is retried. Streams (logs) are guarded where they are read.
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.ResponseHeaderTimeout = remote.StallTimeout
			b.cfg.HttpClient = &http.Client{Transport: tr}
		}
		b.client, b.clientErr = api.NewClient(b.cfg)
		if b.clientErr != nil {
			b.clientErr = &backends.Error{Kind: backends.ErrUnavailable, Op: "nomad",
				Msg: fmt.Sprintf("cannot set up the Nomad client for %s: %v", b.cfg.Address, b.clientErr)}
		}
	})
	return b.client, b.clientErr
}

func (b *backend) Close() error {
	if b.client != nil {
		b.client.Close()
	}
	return nil
}

// ref fills in the default namespace.
func (b *backend) ref(ref backends.Ref) backends.Ref {
	if ref.Namespace == "" {
		ref.Namespace = b.namespace
	}
	return ref
}

func (b *backend) query(ref backends.Ref) *api.QueryOptions {
	return &api.QueryOptions{Namespace: ref.Namespace, Region: b.cfg.Region}
}

// namespaceOf is the namespace job goes to.
func (b *backend) namespaceOf(job *jobspec.Job) string {
	if job.Namespace != "" {
		return job.Namespace
	}
	return b.namespace
}
