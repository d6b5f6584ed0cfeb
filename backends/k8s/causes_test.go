//go:build linux

package k8s

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// kubeconfigFor writes a kubeconfig for server with no CA of its own: the
// system's roots, which trust neither httptest's nor the test cluster's.
func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+server+`"}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Real failures, each told by its cause on every path that makes requests:
// a certificate the client does not trust and a host name that does not
// resolve fail at once (retrying cannot help); a server answering 500s is
// retried within the budget and named with its status.
func TestErrorsByCause(t *testing.T) {
	var served atomic.Int32
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer tlsServer.Close()
	servers := []string{tlsServer.URL}
	if cluster != nil {
		servers = append(servers, cluster.Server) // the real API server, its CA left out
	}
	ctx := context.Background()
	ref := backends.Ref{Name: "x"}
	for _, server := range servers {
		b := openKubeconfig(t, kubeconfigFor(t, server))
		start := time.Now()
		paths := map[string]func() error{
			"status": func() error { _, err := b.Status(ctx, ref); return err },
			"watch":  func() error { return b.Watch(ctx, ref, func(*backends.Status) bool { return true }) },
			"logs":   func() error { return b.Logs(ctx, ref, backends.LogOptions{Follow: true}, nopSink{}) },
			"list":   func() error { _, err := b.List(ctx, backends.ListOptions{}); return err },
			"delete": func() error { return b.Delete(ctx, ref) },
			"submit": func() error { _, err := b.Submit(ctx, simJob(t, "x", "", 0)); return err },
		}
		for name, call := range paths {
			err := call()
			if !errors.Is(err, backends.ErrUnavailable) ||
				!strings.Contains(err.Error(), "TLS handshake with the Kubernetes API server "+server+" failed (not retried)") ||
				!strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "secret-token") {
				t.Errorf("%s against %s, an untrusted certificate: %v; want unavailable (exit 3), a TLS failure, not retried", name, server, err)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%d calls to %s took %v: a certificate failure must not be retried (budget %s each)", len(paths), server, d, remote.BudgetText())
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the server answered %d requests through a failed handshake", n)
	}

	t0 := time.Now()
	net.DefaultResolver.LookupHost(ctx, "batchctl-test.invalid")
	lookup := time.Since(t0)
	start := time.Now()
	_, err := openKubeconfig(t, kubeconfigFor(t, "https://batchctl-test.invalid:6443")).Status(ctx, ref)
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(),
		"cannot reach the Kubernetes API server https://batchctl-test.invalid:6443: host name does not resolve (not retried)") {
		t.Errorf("unresolvable host: %v", err)
	}
	if d := time.Since(start); d > 2*lookup+time.Second {
		t.Errorf("an unresolvable host took %v (one lookup: %v): retried?", d, lookup)
	}
}

type nopSink struct{}

func (nopSink) Line(backends.LogSource, string) {}

func TestServerErrorsAreRetriedAndNamed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 1.75 s retry budget")
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "etcd is down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	_, err := openKubeconfig(t, kubeconfigFor(t, srv.URL)).Status(context.Background(), backends.Ref{Name: "x"})
	want := "the Kubernetes API server " + srv.URL + " answered 500 Internal Server Error (gave up after 4 attempts over 1.75s): "
	if !errors.Is(err, backends.ErrUnavailable) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "etcd is down") ||
		requests.Load() != 4 {
		t.Errorf("500s: %v after %d requests; want %q… with the server's words, after 4", err, requests.Load(), want)
	}
}
