//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/batchctl/batchctl/e2e/dockerd"
)

// dockerCompletions is the docker fan-out's size: containers cost far more
// than processes, so it is smaller than the local one.
const dockerCompletions = 100

// benchDocker compares, on batchctl's private Docker daemon, the local
// backend with local.runtime docker running 100 completions of `true` in
// the test busybox image at parallelism 8 (`submit --wait`, state and logs
// durable) with what a Docker user would script: `xargs -P8` of
// `docker run --rm`. It uses the daemon DOCKER_HOST names (make docker-up),
// else starts one in a temporary directory from what make test installed,
// else says why it is skipped.
func benchDocker(bin string) error {
	d, cleanup, err := benchDaemon()
	if err != nil {
		fmt.Println("docker:", err, "; skipped")
		return nil
	}
	defer cleanup()
	docker, err := exec.LookPath("docker")
	if err != nil {
		fmt.Println("docker: no docker CLI to compare with; skipped")
		return nil
	}
	work, err := os.MkdirTemp("", "batchctl-bench-docker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	manifest := filepath.Join(work, "fanout.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(dockerFanout, dockerCompletions)), 0o600); err != nil {
		return err
	}
	env := append(os.Environ(), "DOCKER_HOST="+d.Host, "BATCHCTL_LOCAL_STATE_DIR="+filepath.Join(work, "state"),
		"BATCHCTL_BACKEND=local", "BATCHCTL_LOCAL_RUNTIME=docker")
	theirsEnv := append(os.Environ(), "DOCKER_HOST="+d.Host)
	// One container first, so that neither side pays for a cold daemon.
	if _, err := measure(1, theirsEnv, docker, "run", "--rm", dockerd.BusyboxImage, "true"); err != nil {
		return err
	}
	ours, err := measure(1, env, bin, "submit", "--wait", "-q", manifest)
	if err != nil {
		return err
	}
	if err := checkFanout(bin, env, dockerCompletions); err != nil {
		return err
	}
	if out, err := run(theirsEnv, docker, "ps", "-aq", "--filter", "label=batchctl.dev/job=fanout"); err != nil || strings.TrimSpace(out) != "" {
		return fmt.Errorf("containers left after the benchmark job: %v %q", err, out)
	}
	script := fmt.Sprintf("seq %d | xargs -P8 -I{} %s run --rm %s true", dockerCompletions, docker, dockerd.BusyboxImage)
	theirs, err := measure(1, theirsEnv, "sh", "-c", script)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("docker %d x true -P8 (vs xargs)", dockerCompletions)
	fmt.Println(row{what: what, a: ms(ours.wall), b: ms(theirs.wall), target: 1.2, unit: "ms"})
	return nil
}

// benchDaemon is the private test daemon DOCKER_HOST names, or one started
// for the benchmark with make test's dockerd and busybox (make docker-tools).
func benchDaemon() (*dockerd.Daemon, func(), error) {
	if d, err := dockerd.FromEnv(context.Background()); err == nil {
		return d, func() {}, nil
	}
	busybox, _ := filepath.Abs(".cache/docker/busybox/bin/busybox")
	for _, p := range []string{dockerd.DefaultDockerd, busybox} {
		if _, err := os.Stat(p); err != nil {
			return nil, nil, fmt.Errorf("no private daemon (DOCKER_HOST) and %s is missing (make docker-tools)", p)
		}
	}
	dir, err := os.MkdirTemp("", "batchctl-bench-dockerd-")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := dockerd.Start(ctx, dockerd.Options{Dir: dir, Busybox: busybox})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return d, func() {
		if err := d.Stop(); err == nil {
			os.RemoveAll(dir)
		}
	}, nil
}

const dockerFanout = `apiVersion: batch/v1
kind: Job
metadata:
  name: fanout
spec:
  completions: %d
  parallelism: 8
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: ` + dockerd.BusyboxImage + `
          command: ["true"]
`
