//go:build unix

// Package nomadagent starts and stops a real Nomad agent for batchctl's
// end-to-end tests and for `make nomad-up`. It only shells out to a Nomad
// binary built by e2e/nomad.mk and talks to it over HTTP (stdlib only).
//
// WorkDir layout: <proc>.hcl and <proc>.log per process ("agent" in -dev
// mode; "server" and "client" in persistent mode), agent.json (PIDs, read by
// Load), state/ (data dirs and the client's alloc_mounts; Stop removes it
// only when nothing is mounted there).
package nomadagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/batchctl/batchctl/e2e/dockerd"
)

// Options configure Start.
type Options struct {
	Binary  string // path to the nomad binary
	WorkDir string // created if missing; holds config, logs, state
	Logf    func(format string, args ...any)

	// Persistent runs a server agent and a client agent with on-disk state
	// instead of one -dev agent, whose state is in memory: only then do jobs,
	// allocations and their outcomes survive Restart.
	Persistent bool
	// Detach starts the agent in its own session so that it outlives the
	// caller (make nomad-up); otherwise it gets SIGTERM when the caller dies.
	Detach bool
	// ReadyTimeout bounds each wait for readiness (default 60s).
	ReadyTimeout time.Duration
	// DockerHost is the endpoint (unix://...) of the Docker daemon the
	// docker driver uses. Empty: the private test daemon that DOCKER_HOST
	// names (make test; see e2e/dockerd), if any. Without one the docker
	// driver is disabled, so a test agent never reaches the machine's own
	// daemon.
	DockerHost string
	// ACL enables Nomad's ACLs: Start bootstraps them and keeps the
	// management token in Agent.ManagementToken, which this package then
	// sends with its own requests (CreateToken makes tokens for tests).
	ACL bool
}

// Agent is a running Nomad agent: one -dev process, or server + client.
type Agent struct {
	Addr       string // http://127.0.0.1:<port> of the server, for NOMAD_ADDR
	NodeID     string
	DockerHost string // the docker driver's daemon; "" when it is disabled
	// ManagementToken is the bootstrap token's secret with Options.ACL.
	ManagementToken string

	opts  Options
	procs []*proc // in start order
}

type stateFile struct {
	Addr       string  `json:"addr"`
	Binary     string  `json:"binary"`
	Persistent bool    `json:"persistent"`
	DockerHost string  `json:"docker_host,omitempty"`
	ACLToken   string  `json:"acl_token,omitempty"`
	Procs      []*proc `json:"procs"`
}

// EnvBinary names the environment variable through which `make` hands tests
// the nomad binary (e2e/nomad.mk's NOMAD_TEST_ENV); tests skip without it.
const EnvBinary = "BATCHCTL_NOMAD_BIN"

// envMarker is set in the agents' environment; their executors, logmons and
// raw_exec tasks inherit it, which is how Stop finds leftovers.
const envMarker = "BATCHCTL_NOMAD_AGENT"

// Start writes the configs, starts the agent and waits until its node is
// ready with raw_exec healthy. On failure the agent is stopped and the error
// carries the tail of the failing process's log.
func Start(ctx context.Context, opts Options) (*Agent, error) {
	var err error
	if opts.Binary, err = filepath.Abs(opts.Binary); err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("nomad binary: %w (build it with `make nomad-tools`)", err)
	}
	if opts.WorkDir, err = filepath.Abs(opts.WorkDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, err
	}
	if old, err := Load(opts.WorkDir, opts.Logf); err == nil && old.Running() {
		return nil, fmt.Errorf("an agent already runs from %s; stop it first", opts.WorkDir)
	}
	if pids := markedProcesses(opts.WorkDir); len(pids) > 0 {
		return nil, fmt.Errorf("processes %v of an earlier agent in %s still run; Stop it (make nomad-down) first", pids, opts.WorkDir)
	}
	if opts.DockerHost == "" {
		if d, err := dockerd.FromEnv(ctx); err == nil {
			opts.DockerHost = d.Host
		}
	}
	a := &Agent{opts: opts, DockerHost: opts.DockerHost}
	if err := RemoveAllSafe(a.path("state")); err != nil { // a fresh agent, not a crashed one's jobs
		return nil, err
	}
	if err := a.configure(); err != nil {
		return nil, err
	}
	for _, p := range a.procs {
		_ = os.Remove(a.path(p.Name + ".log")) // Restart appends; Start begins anew
	}
	if err := a.launch(ctx); err != nil {
		_ = a.Stop()
		return nil, err
	}
	return a, nil
}

// Load returns the agent recorded in workDir by an earlier Start, so that
// another process can stop it (make nomad-down).
func Load(workDir string, logf func(string, ...any)) (*Agent, error) {
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(workDir, "agent.json"))
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("agent.json: %w", err)
	}
	return &Agent{Addr: st.Addr, procs: st.Procs, DockerHost: st.DockerHost, ManagementToken: st.ACLToken,
		opts: Options{Binary: st.Binary, WorkDir: workDir, Persistent: st.Persistent, Logf: logf, DockerHost: st.DockerHost,
			ACL: st.ACLToken != ""}}, nil
}

// Running reports whether any of the agent's processes is still up.
func (a *Agent) Running() bool {
	for _, p := range a.procs {
		if p.alive() {
			return true
		}
	}
	return false
}

// PIDs lists the agent's process IDs in start order.
func (a *Agent) PIDs() []int {
	var pids []int
	for _, p := range a.procs {
		pids = append(pids, p.PID)
	}
	return pids
}

// Restart stops the agent's processes (no job cleanup, no GC) and starts
// them again with the same ports, configs and data dirs. Only a Persistent
// agent keeps its jobs; a -dev agent comes back empty, with a new node.
func (a *Agent) Restart(ctx context.Context) error {
	if err := a.terminate(); err != nil {
		return err
	}
	return a.launch(ctx)
}

// Stop stops and purges every job so that tasks exit and allocations are
// garbage collected (releasing their tmpfs and bind mounts), stops the
// processes, kills leftovers carrying our env marker, and removes state/ if
// nothing is mounted under it. Logs and configs stay in WorkDir.
func (a *Agent) Stop() error {
	var errs []error
	if a.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		errs = append(errs, a.drain(ctx))
		cancel()
		errs = append(errs, a.terminate())
	}
	if pids := markedProcesses(a.opts.WorkDir); len(pids) > 0 {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("killed leftover processes %v", pids))
	}
	errs = append(errs, RemoveAllSafe(a.path("state")))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.Remove(a.path("agent.json")); !os.IsNotExist(err) {
		return err
	}
	return nil
}

// launch starts the processes in order; the client only once the server has
// a leader and a keyring, else its registration fails and is retried only
// after 15-30s (the -dev agent retries every second).
func (a *Agent) launch(ctx context.Context) error {
	timeout := a.opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	started := time.Now()
	for _, p := range a.procs {
		if err := p.start(a.opts, a.path(p.Name+".log")); err != nil {
			return err
		}
		a.logf("nomad %s pid %d at %s (log %s)", p.Name, p.PID, p.Addr, a.path(p.Name+".log"))
		if err := a.saveState(); err != nil {
			return err
		}
		check := func(ctx context.Context) error { return a.checkServer(ctx, p.Addr) }
		if p.Name != "server" {
			check = func(ctx context.Context) error { return a.checkNode(ctx, p.Addr, started.Unix()) }
		}
		if err := waitFor(ctx, timeout, p, check); err != nil {
			return fmt.Errorf("nomad %s not ready: %w\n--- tail of %s ---\n%s", p.Name, err, a.path(p.Name+".log"), tail(a.path(p.Name+".log"), 40))
		}
	}
	a.logf("nomad ready in %s (node %s)", time.Since(started).Round(time.Millisecond), a.NodeID)
	return nil
}

// terminate stops the processes in reverse start order.
func (a *Agent) terminate() error {
	var errs []error
	for i := len(a.procs) - 1; i >= 0; i-- {
		errs = append(errs, a.procs[i].terminate(a.logf))
	}
	return errors.Join(errs...)
}

func (a *Agent) saveState() error {
	b, err := json.MarshalIndent(stateFile{Addr: a.Addr, Binary: a.opts.Binary, Persistent: a.opts.Persistent, DockerHost: a.DockerHost, ACLToken: a.ManagementToken, Procs: a.procs}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(a.path("agent.json"), b, 0o644)
}

func (a *Agent) path(elem ...string) string {
	return filepath.Join(append([]string{a.opts.WorkDir}, elem...)...)
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}
