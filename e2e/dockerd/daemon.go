//go:build unix

// Package dockerd starts and stops a private Docker daemon for batchctl's
// end-to-end tests (make test, make docker-up): Debian's dockerd 20.10 (API
// 1.41) with every piece of its state under one directory, no bridge and no
// iptables rules, so that it leaves the machine's own Docker, if any, alone.
// Test images are imported from a static busybox (images.go): no registry.
// It shells out to dockerd and talks to it over its socket (stdlib only).
//
// Dir layout: daemon.json (an empty config, so /etc/docker's is not read;
// dockerd's command line names it, which is how a PID is known to be ours),
// data/ (data-root: images, containers), exec/ (exec-root: containerd and
// its shims), docker.sock, docker.pid, dockerd.log, state.json (for Load).
package dockerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// DefaultDockerd is where Debian's docker.io package installs dockerd.
const DefaultDockerd = "/usr/sbin/dockerd"

// Options configure Start.
type Options struct {
	Dockerd string // dockerd binary; default DefaultDockerd
	Dir     string // created if missing; holds all of the daemon's state
	// Busybox is a static busybox binary. When set, Start imports the test
	// images (see Images) that are missing or were built differently.
	Busybox string
	Logf    func(format string, args ...any)
	// Detach starts dockerd in its own session so that it outlives the
	// caller (make docker-up); otherwise it gets SIGTERM when the caller dies.
	Detach bool
	// ReadyTimeout bounds the wait for the API (default 60s).
	ReadyTimeout time.Duration
}

// Daemon is a running private dockerd.
type Daemon struct {
	Host string // unix://<Dir>/docker.sock, for DOCKER_HOST
	PID  int

	opts    Options
	done    chan struct{} // closed when our child exits; nil after Load
	exitErr error
}

type stateFile struct {
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Dockerd string `json:"dockerd"`
	Busybox string `json:"busybox,omitempty"`
}

// Label marks the daemon in its /info; its value is the state directory.
const Label = "batchctl.dev/test-daemon"

// Start starts dockerd in opts.Dir, waits until its API answers and, with
// opts.Busybox, imports the test images. Containers left in the data-root
// by an earlier daemon that did not stop cleanly are removed. On failure
// the daemon is stopped and the error carries the tail of its log.
func Start(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Dockerd == "" {
		opts.Dockerd = DefaultDockerd
	}
	if _, err := os.Stat(opts.Dockerd); err != nil {
		return nil, fmt.Errorf("dockerd: %w (make docker-tools installs Debian's docker.io)", err)
	}
	var err error
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return nil, err
	}
	if opts.Busybox != "" { // recorded for other processes (Load)
		if opts.Busybox, err = filepath.Abs(opts.Busybox); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if old, err := Load(opts.Dir); err == nil && old.Running() {
		return nil, fmt.Errorf("a daemon already runs from %s (pid %d); stop it first", opts.Dir, old.PID)
	}
	if pids := leftovers(opts.Dir); len(pids) > 0 {
		return nil, fmt.Errorf("processes %v of an earlier daemon in %s still run; stop it (make docker-down) first", pids, opts.Dir)
	}
	d := &Daemon{Host: "unix://" + filepath.Join(opts.Dir, "docker.sock"), opts: opts}
	if err := os.WriteFile(d.path("daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	// A killed daemon's pidfile would stop dockerd if its PID were reused.
	if err := os.Remove(d.path("docker.pid")); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if err := d.launch(); err != nil {
		return nil, err
	}
	if err := d.ready(ctx); err != nil {
		_ = d.Stop()
		return nil, fmt.Errorf("dockerd not ready: %w\n--- tail of %s ---\n%s", err, d.path("dockerd.log"), tail(d.path("dockerd.log"), 30))
	}
	if err := d.RemoveContainers(ctx); err != nil {
		_ = d.Stop()
		return nil, err
	}
	if opts.Busybox != "" {
		if err := d.EnsureImages(ctx, opts.Busybox); err != nil {
			_ = d.Stop()
			return nil, err
		}
	}
	return d, nil
}

func (d *Daemon) launch() error {
	log, err := os.OpenFile(d.path("dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "==== batchctl e2e/dockerd: start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(d.opts.Dockerd,
		"--config-file="+d.path("daemon.json"),
		"--data-root="+d.path("data"),
		"--exec-root="+d.path("exec"),
		"--host="+d.Host,
		"--pidfile="+d.path("docker.pid"),
		// No docker0 and no firewall or sysctl changes: containers get a
		// loopback-only network namespace, which is all tests need.
		"--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false",
		// Its own containerd namespaces, in case it ever shares a containerd.
		"--containerd-namespace=batchctl-test", "--containerd-plugins-namespace=batchctl-test-plugins",
		"--label="+Label+"="+d.opts.Dir,
		"--shutdown-timeout=5",
	)
	cmd.Dir = d.opts.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr(d.opts.Detach)
	if err := cmd.Start(); err != nil {
		return err
	}
	d.PID = cmd.Process.Pid
	d.done = make(chan struct{})
	go func(done chan struct{}) { d.exitErr = cmd.Wait(); close(done) }(d.done)
	d.logf("dockerd pid %d at %s (log %s)", d.PID, d.Host, d.path("dockerd.log"))
	return d.saveState()
}

// ready waits until the API answers as our daemon, or dockerd exits.
func (d *Daemon) ready(ctx context.Context) error {
	timeout := d.opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	last := errors.New("no answer yet")
	for {
		err := d.check(ctx)
		if err == nil {
			d.logf("dockerd ready in %s", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-d.done:
			return fmt.Errorf("dockerd exited: %v", d.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w; last check: %v", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Load returns the daemon recorded in dir by an earlier Start, so that
// another process can use or stop it.
func Load(dir string) (*Daemon, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state.json: %w", err)
	}
	return &Daemon{Host: st.Host, PID: st.PID, opts: Options{Dockerd: st.Dockerd, Busybox: st.Busybox, Dir: dir}}, nil
}

// Dir is the daemon's state directory.
func (d *Daemon) Dir() string { return d.opts.Dir }

// Busybox is the busybox binary its images were built from, if recorded.
func (d *Daemon) Busybox() string { return d.opts.Busybox }

// Dockerd is the dockerd binary it runs.
func (d *Daemon) Dockerd() string { return d.opts.Dockerd }

// SetLogf sets where a loaded daemon reports progress.
func (d *Daemon) SetLogf(logf func(string, ...any)) { d.opts.Logf = logf }

// Running reports whether dockerd is still up: our child that has not
// exited or, after Load, a live process whose command line names our config.
func (d *Daemon) Running() bool {
	if d.PID <= 0 {
		return false
	}
	if d.done != nil {
		select {
		case <-d.done:
			return false
		default:
			return true
		}
	}
	return ours(d.PID, d.opts.Dir)
}

// Stop removes every container (so none waits out a stop timeout), stops
// dockerd (which stops its containerd), kills leftover containerd or shim
// processes of this Dir and unmounts what is left mounted under it. The
// data-root stays, so images are kept for the next Start.
func (d *Daemon) Stop() error {
	var errs []error
	if d.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.RemoveContainers(ctx); err != nil { // dockerd stops them, only slower
			d.logf("%v", err)
		}
		cancel()
		errs = append(errs, d.terminate())
	}
	if pids := leftovers(d.opts.Dir); len(pids) > 0 {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("killed leftover processes %v", pids))
	}
	errs = append(errs, unmountUnder(d.opts.Dir))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.Remove(d.path("state.json")); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// terminate sends SIGTERM, waits, and escalates to SIGKILL. It signals
// d.PID only while Running holds, so a recycled PID is never hit.
func (d *Daemon) terminate() error {
	if !d.Running() {
		return nil
	}
	_ = syscall.Kill(d.PID, syscall.SIGTERM)
	if d.waitExit(30 * time.Second) {
		return nil
	}
	d.logf("dockerd pid %d ignored SIGTERM; sending SIGKILL", d.PID)
	_ = syscall.Kill(d.PID, syscall.SIGKILL)
	if d.waitExit(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("dockerd pid %d did not exit", d.PID)
}

// waitExit waits for our child's exit, or a loaded daemon's through a pidfd.
func (d *Daemon) waitExit(timeout time.Duration) bool {
	if d.done == nil {
		return waitGone(d.PID, timeout)
	}
	select {
	case <-d.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (d *Daemon) saveState() error {
	b, err := json.MarshalIndent(stateFile{Host: d.Host, PID: d.PID, Dockerd: d.opts.Dockerd, Busybox: d.opts.Busybox}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(d.path("state.json"), b, 0o644)
}

func (d *Daemon) path(elem ...string) string {
	return filepath.Join(append([]string{d.opts.Dir}, elem...)...)
}

func (d *Daemon) logf(format string, args ...any) {
	if d.opts.Logf != nil {
		d.opts.Logf(format, args...)
	}
}
