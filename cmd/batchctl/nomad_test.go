//go:build unix

package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/batchctl/batchctl/e2e/nomadagent"
)

func init() { platformStarters["nomad"] = startNomad }

// startNomad starts one real Nomad agent (-dev, raw_exec) for every [nomad]
// scenario, when `make test` has built Nomad and named it in
// BATCHCTL_NOMAD_BIN.
func startNomad(t *testing.T) (map[string]string, bool) {
	bin := os.Getenv(nomadagent.EnvBinary)
	if bin == "" {
		return nil, false
	}
	// Not t.TempDir: the agent mounts under its data dir, which only
	// RemoveAllSafe removes safely.
	dir, err := os.MkdirTemp("", "batchctl-nomad-scripts-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, err := nomadagent.Start(ctx, nomadagent.Options{Binary: bin, WorkDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("starting the Nomad agent: %v (logs in %s)", err, dir)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stopping the Nomad agent: %v (logs in %s)", err, dir)
			return
		}
		if err := nomadagent.RemoveAllSafe(dir); err != nil {
			t.Error(err)
		}
	})
	// The driver is nomad.driver's default, raw_exec: exporting
	// BATCHCTL_NOMAD_DRIVER would override every script's config file.
	env := map[string]string{"NOMAD_ADDR": a.Addr, "REAL_NOMAD_ADDR": a.Addr}
	if a.DockerHost != "" {
		env[dockerCondition] = "1" // the agent's docker driver has a daemon: [docker] holds
	}
	return env, true
}
