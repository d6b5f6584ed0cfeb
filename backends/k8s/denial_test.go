//go:build linux

package k8s

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/e2e/kube"
	"github.com/batchctl/batchctl/jobspec"
)

func openKubeconfig(t *testing.T, kubeconfig string) backends.Backend {
	t.Helper()
	b, err := Open(Options{Kubeconfig: kubeconfig}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// simJob is a job that succeeds after seconds: on kwok through its
// annotations, on a real kubelet through its command.
func simJob(t *testing.T, name, namespace string, seconds int) *jobspec.Job {
	t.Helper()
	s := strconv.Itoa(seconds)
	job := parse(t, `apiVersion: batch/v1
kind: Job
metadata: {name: `+name+`}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {batchctl.dev/intended-exit-code: "0", batchctl.dev/intended-duration: "`+s+`s"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["sleep", "`+s+`"]}]
`)
	job.Namespace = namespace
	return job
}

// A ServiceAccount token that RBAC lets read Jobs but not create them, on
// the real API server: submit is forbidden in the server's words (exit 3,
// not retried), status and wait work. A token that may get but not watch
// ends a wait with the refusal instead of retrying it forever.
func TestRBACReadOnlyServiceAccount(t *testing.T) {
	needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "rbac-denied"
	reader, err := cluster.ServiceAccountKubeconfig(ctx, ns, "reader",
		kube.Grant{Group: "batch", Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch"}})
	if err != nil {
		t.Fatal(err)
	}
	getter, err := cluster.ServiceAccountKubeconfig(ctx, ns, "getter",
		kube.Grant{Group: "batch", Resources: []string{"jobs"}, Verbs: []string{"get"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := newBackend(t)
	if _, err := admin.Submit(ctx, simJob(t, "rbac-existing", ns, 1)); err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: "rbac-existing", Namespace: ns}
	defer admin.Delete(context.Background(), ref)

	b := openKubeconfig(t, reader)
	start := time.Now()
	_, err = b.Submit(ctx, simJob(t, "rbac-denied", "", 0))
	if !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("submit with a read-only ServiceAccount: %v, want ErrUnavailable (exit 3)", err)
	}
	want := `forbidden by the Kubernetes API server ` + cluster.Server + `: jobs.batch is forbidden: User "system:serviceaccount:` + ns +
		`:reader" cannot create resource "jobs" in API group "batch" in the namespace "` + ns + `"`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\ndoes not say %q", err, want)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v: a denial must not be retried", d)
	}
	if err := b.Watch(ctx, ref, func(st *backends.Status) bool { return st.Phase.Terminal() }); err != nil {
		t.Errorf("wait with the read-only ServiceAccount: %v", err)
	}
	if st, err := b.Status(ctx, ref); err != nil || st.Phase != backends.Succeeded {
		t.Errorf("status with the read-only ServiceAccount: %+v, %v; want Succeeded", st, err)
	}

	// May get, may not list or watch: the informer's refusal ends Watch.
	if _, err := admin.Submit(ctx, simJob(t, "rbac-unfinished", ns, 3600)); err != nil {
		t.Fatal(err)
	}
	uref := backends.Ref{Name: "rbac-unfinished", Namespace: ns}
	defer admin.Delete(context.Background(), uref)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	err = openKubeconfig(t, getter).Watch(wctx, uref, func(st *backends.Status) bool { return st.Phase.Terminal() })
	refused := err != nil && (strings.Contains(err.Error(), `cannot list resource "jobs"`) || strings.Contains(err.Error(), `cannot watch resource "jobs"`))
	if wctx.Err() != nil || !errors.Is(err, backends.ErrUnavailable) || !refused {
		t.Errorf("wait without the right to list: %v (context: %v); want the refusal, at once", err, wctx.Err())
	}
}
