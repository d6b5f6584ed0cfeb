//go:build unix

// Command docker-up runs batchctl's private test Docker daemons (e2e/dockerd).
//
//	docker-up [flags]                start one detached in <dir>/run (make docker-up); print `export DOCKER_HOST=...`
//	docker-up -down [flags]          stop that one (make docker-down)
//	docker-up [flags] -- CMD ARGS    run CMD with DOCKER_HOST set (make test's DOCKER_TEST_ENV)
//
// With a command it uses the daemon make docker-up started, if it runs, and
// leaves it up. Otherwise it starts its own in the first <dir>/test-N that no
// other run holds (a flock held until exit), as its child: stopped when the
// command ends, however it ends (failure, panic, Ctrl-C), and killed with
// docker-up if that is killed. Concurrent test runs so never share one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/batchctl/batchctl/e2e/dockerd"
)

func main() {
	base := flag.String("dir", ".cache/docker", "state root: run/ for make docker-up's daemon, test-N/ for test runs'")
	bin := flag.String("dockerd", dockerd.DefaultDockerd, "dockerd binary")
	busybox := flag.String("busybox", ".cache/docker/busybox/bin/busybox", "static busybox the test images are built from")
	down := flag.Bool("down", false, "stop the daemon make docker-up started")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("docker-up: ")
	logf := func(f string, a ...any) { log.Printf(f, a...) }
	shared := filepath.Join(*base, "run")

	if *down {
		d, err := dockerd.Load(shared)
		if os.IsNotExist(err) {
			log.Print("no daemon recorded in ", shared)
			return
		} else if err != nil {
			log.Fatal(err)
		}
		d.SetLogf(logf)
		if err := d.Stop(); err != nil {
			log.Fatal(err)
		}
		log.Printf("stopped pid %d; log kept in %s", d.PID, shared)
		return
	}

	// A signal aborts the start-up (Start then stops what it started).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	opts := dockerd.Options{Dockerd: *bin, Busybox: *busybox, Logf: logf}
	cmd := flag.Args()
	if len(cmd) == 0 {
		opts.Dir, opts.Detach = shared, true
		d, err := upShared(ctx, opts)
		stop()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("export DOCKER_HOST=%s\n", d.Host)
		return
	}
	d, owned, err := forRun(ctx, *base, opts)
	stop()
	if err != nil {
		log.Fatal(err)
	}
	code := run(cmd, d.Host)
	if owned {
		if err := d.Stop(); err != nil {
			log.Print(err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// upShared reuses the daemon recorded in opts.Dir if it runs, else starts one.
func upShared(ctx context.Context, opts dockerd.Options) (*dockerd.Daemon, error) {
	if d, err := dockerd.Load(opts.Dir); err == nil {
		d.SetLogf(opts.Logf)
		if d.Running() {
			opts.Logf("already running (pid %d)", d.PID)
			return d, d.EnsureImages(ctx, opts.Busybox)
		}
		if err := d.Stop(); err != nil { // stale record: clean up what it left
			return nil, err
		}
	}
	return dockerd.Start(ctx, opts)
}

// slot is the locked test-N dir's lock file: open, so locked, until exit.
var slot *os.File

// forRun returns make docker-up's daemon if it runs (owned false), else a
// new one of this process's own in a free test-N dir.
func forRun(ctx context.Context, base string, opts dockerd.Options) (d *dockerd.Daemon, owned bool, err error) {
	if d, err := dockerd.Load(filepath.Join(base, "run")); err == nil && d.Running() {
		d.SetLogf(opts.Logf)
		opts.Logf("using the daemon make docker-up started (pid %d)", d.PID)
		return d, false, d.EnsureImages(ctx, opts.Busybox)
	}
	for i := 1; i <= 8; i++ {
		dir := filepath.Join(base, fmt.Sprintf("test-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(filepath.Join(dir, "slot.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, false, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close() // another test run's
			continue
		} else if err != nil {
			f.Close()
			return nil, false, err
		}
		slot = f
		if old, err := dockerd.Load(dir); err == nil { // left by a run that was killed
			old.SetLogf(opts.Logf)
			if err := old.Stop(); err != nil {
				return nil, false, err
			}
		}
		opts.Dir = dir
		d, err := dockerd.Start(ctx, opts)
		return d, err == nil, err
	}
	return nil, false, fmt.Errorf("8 test runs hold every %s/test-N dir", base)
}

// run runs argv with DOCKER_HOST set and returns its exit status. The
// terminal's Ctrl-C reaches argv directly (same process group); SIGTERM and
// SIGHUP sent to docker-up alone are passed on.
func run(argv []string, host string) int {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.Env = append(withoutDockerEnv(os.Environ()), "DOCKER_HOST="+host)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		log.Print(err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s != syscall.SIGINT {
					_ = c.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err := c.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	log.Print(err)
	return 1
}

// withoutDockerEnv drops settings that would point a Docker client
// elsewhere or at another API version than the private daemon's.
func withoutDockerEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION":
		default:
			out = append(out, kv)
		}
	}
	return out
}
