//go:build linux

package kube

import (
	"context"
	"os"
	"testing"
)

// BinEnv names the environment variable with the directory of the built
// binaries (make k8s-tools; the Makefile's K8S_TEST_ENV sets it).
const BinEnv = "BATCHCTL_K8S_BIN"

// NodeEnv names the environment variable that chooses the node of the
// clusters tests start (kwok, kubelet or both; unset: kwok). make test sets
// both: real pods, and kwok for what asks for simulation.
const NodeEnv = "BATCHCTL_K8S_NODE"

// NodeFromEnv is the node kind NodeEnv asks for.
func NodeFromEnv() (NodeKind, error) { return ParseNodeKind(os.Getenv(NodeEnv)) }

// ForTest starts a cluster with the kwok node for t and stops it when t
// ends. It skips t when BinEnv is unset or a binary is missing, so plain
// `go test ./...` passes without the control plane.
func ForTest(t testing.TB) *Cluster {
	t.Helper()
	return ForTestNode(t, NodeKwok)
}

// ForTestNode is ForTest with the given node kind.
func ForTestNode(t testing.TB, kind NodeKind) *Cluster {
	t.Helper()
	bin := os.Getenv(BinEnv)
	if bin == "" {
		t.Skipf("needs the Kubernetes control plane: make k8s-tools, then %s=$PWD/.cache/k8s/bin", BinEnv)
	}
	if m := missingTools(bin, kind); m != "" {
		t.Skipf("needs the Kubernetes control plane with a %s node: make k8s-tools (missing %s)", kind, m)
	}
	c, err := Start(context.Background(), Options{BinDir: bin, WorkDir: t.TempDir(), Logf: t.Logf, Node: kind})
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
