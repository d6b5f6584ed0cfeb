package main

import (
	"context"
	"os"
	"testing"

	"github.com/batchctl/batchctl/e2e/kube"
)

func init() { platformStarters["k8s"] = startKube }

// startKube starts one real control plane (etcd, kube-apiserver, the Job
// controller, kwok) for every [k8s] scenario, when `make test` has built it.
func startKube(t *testing.T) (map[string]string, bool) {
	dir := os.Getenv("BATCHCTL_K8S_BIN")
	if dir == "" {
		return nil, false
	}
	c, err := kube.Start(context.Background(), kube.Options{BinDir: dir, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return map[string]string{"KUBECONFIG": c.Kubeconfig, "REAL_KUBECONFIG": c.Kubeconfig, "CANNED_LOG_LINE": kube.CannedLogLine}, true
}
