package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/remote"
	"github.com/batchctl/batchctl/e2e/kube"
	"github.com/batchctl/batchctl/jobspec"
)

// binEnv names the directory of the control-plane binaries `make test`
// builds; without it the tests that need a real cluster skip.
const binEnv = "BATCHCTL_K8S_BIN"

var cluster *kube.Cluster

func TestMain(m *testing.M) {
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	if dir := os.Getenv(binEnv); dir != "" {
		work, err := os.MkdirTemp("", "batchctl-k8s-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cluster, err = kube.Start(context.Background(), kube.Options{BinDir: dir, WorkDir: work})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the control plane:", err)
			return 1
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
			}
			os.RemoveAll(work)
		}()
	}
	return m.Run()
}

func needCluster(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skipf("no control plane: set %s (make test does) to run against a real kube-apiserver", binEnv)
	}
}

func newBackend(t *testing.T) backends.Backend {
	b, err := Open(Options{Kubeconfig: cluster.Kubeconfig}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	needCluster(t)
	backendtest.Run(t, backendtest.Options{
		New:       newBackend,
		Timeout:   2 * time.Minute, // the Job controller waits 10s, 20s… between failed pods
		Simulated: true,            // kwok moves pods through phases; nothing executes
	})
}

func parse(t *testing.T, manifest string) *jobspec.Job {
	t.Helper()
	job, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// A wait in progress while the API server crashes and comes back still sees
// the job's outcome: the informer re-lists instead of losing the event.
func TestWaitSurvivesAPIServerRestart(t *testing.T) {
	needCluster(t)
	b := newBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := b.Submit(ctx, parse(t, `apiVersion: batch/v1
kind: Job
metadata: {name: survives-restart}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {batchctl.dev/intended-exit-code: "4", batchctl.dev/intended-duration: "4s"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["sh", "-c", "sleep 4; exit 4"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer b.Delete(context.Background(), ref)

	restarted := make(chan error, 1)
	var last *backends.Status
	err = b.Watch(ctx, ref, func(s *backends.Status) bool {
		last = s
		if s.Active > 0 && restarted != nil {
			go func() { restarted <- cluster.RestartAPIServer() }()
			if err := <-restarted; err != nil {
				t.Errorf("restarting the API server: %v", err)
			}
			restarted = nil
		}
		return s.Phase.Terminal()
	})
	if err != nil {
		t.Fatalf("Watch across the restart: %v", err)
	}
	if restarted != nil {
		t.Fatal("the job finished before the API server was restarted; the test proved nothing")
	}
	if last.Phase != backends.Failed || last.Reason != backends.ReasonBackoffLimitExceeded || last.Failed != 1 {
		t.Errorf("outcome after the restart: %s %s failed=%d, want Failed BackoffLimitExceeded failed=1", last.Phase, last.Reason, last.Failed)
	}
	d, err := b.(backends.Describer).Describe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attempts) != 1 || d.Attempts[0].ExitCode == nil || *d.Attempts[0].ExitCode != 4 {
		t.Errorf("attempts %+v, want one with exit code 4", d.Attempts)
	}
}

func TestUnreachableServerNamesAddress(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	b, err := Open(Options{Kubeconfig: kubeconfig}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = b.Status(context.Background(), backends.Ref{Name: "x"})
	if !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("Status: %v, want unavailable", err)
	}
	for _, want := range []string{"https://127.0.0.1:1", "connection refused", "gave up after 4 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error %q leaks the token", err)
	}
	if d := time.Since(start); d < 1750*time.Millisecond {
		t.Errorf("gave up after %v, before the stated retry budget (%s)", d, remote.BudgetText())
	}
}
