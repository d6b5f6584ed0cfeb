//go:build linux

package main

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/batchctl/batchctl/e2e/kube"
)

func init() {
	platformStarters["k8s"] = func(t *testing.T) (map[string]string, bool) {
		c := startKube(t)
		if c == nil {
			return nil, false
		}
		return map[string]string{
			"KUBECONFIG":      c.Kubeconfig,
			"REAL_KUBECONFIG": c.Kubeconfig,
			"CANNED_LOG_LINE": kube.CannedLogLine,
			"MISSING_IMAGE":   kube.MissingImage,
		}, true
	}
	// [k8s-real]: the cluster runs pods on a real kubelet (containers run
	// their commands, logs are theirs). [k8s-sim]: it has the kwok node too,
	// for pods that select it (nodeSelector type: kwok, tolerating
	// batchctl.dev/simulated): many pods, or durations, at no cost.
	platformStarters["k8s-real"] = func(t *testing.T) (map[string]string, bool) {
		c := startKube(t)
		return nil, c != nil && c.RealNode()
	}
	platformStarters["k8s-sim"] = func(t *testing.T) (map[string]string, bool) {
		c := startKube(t)
		return nil, c != nil && kubeNode != kube.NodeKubelet
	}
}

var (
	kubeOnce    sync.Once
	kubeCluster *kube.Cluster
	kubeNode    kube.NodeKind
)

// startKube starts one real control plane (etcd, kube-apiserver, the Job
// controller, and the nodes BATCHCTL_K8S_NODE asks for: make test runs a
// real kubelet next to a tainted kwok node) for every [k8s] scenario, when
// `make test` has built it; nil when it has not.
func startKube(t *testing.T) *kube.Cluster {
	kubeOnce.Do(func() {
		dir := os.Getenv(kube.BinEnv)
		if dir == "" {
			return
		}
		node, err := kube.NodeFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		c, err := kube.Start(context.Background(), kube.Options{BinDir: dir, WorkDir: t.TempDir(), Node: node})
		if err != nil {
			t.Fatalf("starting the control plane: %v", err)
		}
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("stopping the control plane: %v", err)
			}
		})
		kubeCluster, kubeNode = c, node
	})
	return kubeCluster
}
