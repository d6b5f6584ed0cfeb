//go:build linux

package k8s

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote/remotetest"
)

// A wait whose connection to the API server goes silent without a reset — a
// proxy that stops forwarding and keeps its sockets open — drops it within
// the stall timeout (the HTTP/2 health check), reconnects once the network
// forwards again, and reports the outcome the job reached meanwhile.
func TestWaitResumesAfterSilentConnection(t *testing.T) {
	needCluster(t)
	const stall = 3 * time.Second
	remotetest.ShortStall(t, stall)
	proxy := remotetest.ProxyTo(t, cluster.Server)
	admin, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// The serving certificate names 127.0.0.1: TLS holds through the proxy.
	if err := os.WriteFile(kubeconfig, []byte(strings.ReplaceAll(string(admin), cluster.Server, "https://"+proxy.Addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	direct, viaProxy := newBackend(t), openKubeconfig(t, kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := direct.Submit(ctx, simJob(t, "silent-wait", "", 2))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer direct.Delete(context.Background(), ref)

	// client-go's reflector retries after 0.8 s, doubling (with jitter) while
	// the server stays out of reach: one short stall costs seconds at most.
	remotetest.WaitAcrossStall(t, ctx, proxy, stall, 20*time.Second,
		func(ctx context.Context, fn func(*backends.Status) bool) error { return viaProxy.Watch(ctx, ref, fn) },
		func(ctx context.Context) error {
			return direct.Watch(ctx, ref, func(s *backends.Status) bool { return s.Phase.Terminal() })
		})
}
