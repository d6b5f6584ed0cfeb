//go:build unix

package dockerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvHost is how `make test` hands tests the private daemon: its
// DOCKER_TEST_ENV runs the tests with DOCKER_HOST=unix://<Dir>/docker.sock.
const EnvHost = "DOCKER_HOST"

// FromEnv returns the private test daemon DOCKER_HOST names, or an error
// saying why there is none: DOCKER_HOST unset or not a unix socket, no
// daemon recorded beside the socket, or one that does not answer as ours.
// Another daemon (a developer's own Docker) is never returned.
func FromEnv(ctx context.Context) (*Daemon, error) {
	host := os.Getenv(EnvHost)
	sock, ok := strings.CutPrefix(host, "unix://")
	switch {
	case host == "":
		return nil, fmt.Errorf("%s is not set (make test starts batchctl's private Docker daemon and sets it)", EnvHost)
	case !ok:
		return nil, fmt.Errorf("%s=%s is not batchctl's private test daemon (a unix socket; make docker-up)", EnvHost, host)
	}
	d, err := Load(filepath.Dir(sock))
	if err != nil || d.Host != host || !d.Running() {
		return nil, fmt.Errorf("%s=%s is not a running private test daemon (make docker-up starts one)", EnvHost, host)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// ForTest returns the private daemon that `make test` (or `make docker-up`)
// started, or skips t when DOCKER_HOST names none. Tests share it: each
// removes what it creates, and the daemon removes every container when it
// starts and stops.
func ForTest(t testing.TB) *Daemon {
	t.Helper()
	d, err := FromEnv(context.Background())
	if err != nil {
		t.Skip(err)
	}
	d.SetLogf(t.Logf)
	return d
}
