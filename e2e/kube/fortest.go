package kube

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BinEnv names the environment variable with the directory of the built
// binaries (make k8s-tools; the Makefile's K8S_TEST_ENV sets it).
const BinEnv = "BATCHCTL_K8S_BIN"

// ForTest starts a cluster for t and stops it when t ends. It skips t when
// BinEnv is unset or a binary is missing, so plain `go test ./...` passes
// without the control plane.
func ForTest(t testing.TB) *Cluster {
	t.Helper()
	bin := os.Getenv(BinEnv)
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(bin, b)); bin == "" || err != nil {
			t.Skipf("needs the Kubernetes control plane: make k8s-tools, then %s=$PWD/.cache/k8s/bin (missing %s)", BinEnv, b)
		}
	}
	c, err := Start(context.Background(), Options{BinDir: bin, WorkDir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}
