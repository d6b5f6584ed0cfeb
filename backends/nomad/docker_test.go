//go:build unix

package nomad_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/nomad"
	"github.com/batchctl/batchctl/e2e/dockerd"
	"github.com/batchctl/batchctl/jobspec"
)

// dockerBackend talks with the docker driver to the shared -dev agent,
// whose docker plugin runs on the private test daemon (make test); it skips
// without that daemon.
func dockerBackend(t *testing.T) (backends.Backend, *dockerd.Daemon) {
	t.Helper()
	d := dockerd.ForTest(t)
	a := devAgent(t)
	if a.DockerHost != d.Host {
		t.Fatalf("the Nomad agent's docker driver uses %q, not the test daemon %s", a.DockerHost, d.Host)
	}
	b, err := nomad.Open(nomad.Options{Addr: a.Addr, Driver: "docker", Backoff: 10 * time.Millisecond, BackoffCap: 10 * time.Millisecond}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, d
}

// The suite's manifests name busybox:1.36, which the test daemon has
// locally (an alias of dockerd.BusyboxImage): nothing is pulled. Their
// processes run in containers, not on this machine (no HostProcesses).
func TestConformanceDocker(t *testing.T) {
	dockerBackend(t)
	backendtest.Run(t, backendtest.Options{
		New:     func(t *testing.T) backends.Backend { b, _ := dockerBackend(t); return b },
		Timeout: 2 * time.Minute,
	})
}

// submitDocker submits a manifest (%s is the job's name) and deletes the
// job after the test.
func submitDocker(t *testing.T, b backends.Backend, manifest string) backends.Ref {
	t.Helper()
	name := "docker-" + strings.ToLower(strings.ReplaceAll(t.Name()[strings.LastIndexByte(t.Name(), '/')+1:], "_", "-"))
	j, err := jobspec.Parse(name+".yaml", strings.NewReader(fmt.Sprintf(manifest, name)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Submit(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

func finish(t *testing.T, b backends.Backend, ref backends.Ref) *backends.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last *backends.Status
	if err := b.Watch(ctx, ref, func(st *backends.Status) bool { last = st; return st.Phase.Terminal() }); err != nil {
		t.Fatalf("Watch: %v (last %+v)", err, last)
	}
	return last
}

// sourced collects "container #attempt: line".
type sourced struct {
	mu  sync.Mutex
	got []string
}

func (s *sourced) Line(src backends.LogSource, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf("%s #%d: %s", src.Container, src.Attempt, line))
}

func logsOf(t *testing.T, b backends.Backend, ref backends.Ref) string {
	t.Helper()
	var s sourced
	if err := b.Logs(context.Background(), ref, backends.LogOptions{}, &s); err != nil {
		t.Fatal(err)
	}
	sort.Strings(s.got)
	return strings.Join(s.got, "\n")
}

// command replaces the image's ENTRYPOINT and drops its CMD (else "c cmd");
// args replace CMD alone, as in Kubernetes.
func TestDockerEntrypoint(t *testing.T) {
	b, _ := dockerBackend(t)
	ref := submitDocker(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: image, image: `+dockerd.EntrypointImage+`}
      - {name: args, image: `+dockerd.EntrypointImage+`, args: [x]}
      - {name: command, image: `+dockerd.EntrypointImage+`, command: [sh, -c, 'echo c "$@"', sh]}
      - {name: both, image: `+dockerd.EntrypointImage+`, command: [sh, -c, 'echo c "$@"', sh], args: [x]}
`)
	if st := finish(t, b, ref); st.Phase != backends.Succeeded {
		t.Fatalf("%s %s: %s", st.Phase, st.Reason, st.Message)
	}
	want := "args #0: entrypoint x\nboth #0: c x\ncommand #0: c\nimage #0: entrypoint cmd"
	if got := logsOf(t, b, ref); got != want {
		t.Errorf("logs:\n%s\nwant:\n%s", got, want)
	}
}

// OnFailure restarts the container in place (a new container, the same
// allocation); the run marker, written by the command's own shell, tells
// the attempts' output apart. The marker file is in the allocation's
// shared directory, which outlives each container.
func TestDockerOnFailureLogsEveryAttempt(t *testing.T) {
	b, _ := dockerBackend(t)
	ref := submitDocker(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: main
        image: `+dockerd.BusyboxImage+`
        command: [sh, -c, 'if [ -e "$NOMAD_ALLOC_DIR/m" ]; then echo recovered; exit 0; fi; touch "$NOMAD_ALLOC_DIR/m"; echo first; echo oops >&2; exit 3']
`)
	st := finish(t, b, ref)
	if st.Phase != backends.Succeeded || len(st.Attempts) != 2 {
		t.Fatalf("%s %s, attempts %+v", st.Phase, st.Reason, st.Attempts)
	}
	a0, a1 := st.Attempts[0], st.Attempts[1]
	if a0.Pod != a1.Pod || a0.ExitCode == nil || *a0.ExitCode != 3 || a1.Phase != "Succeeded" {
		t.Errorf("attempts %+v, %+v: want one allocation, exit 3 then success", a0, a1)
	}
	want := "main #0: first\nmain #0: oops\nmain #1: recovered"
	if got := logsOf(t, b, ref); got != want {
		t.Errorf("logs:\n%s\nwant:\n%s", got, want)
	}
}

// With no registry reachable, IfNotPresent and Never run the image the
// daemon has; Always (force_pull) tries the registry and fails to start.
func TestDockerImagePullPolicy(t *testing.T) {
	b, _ := dockerBackend(t)
	for _, policy := range []string{"IfNotPresent", "Never", "Always"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			ref := submitDocker(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: `+dockerd.BusyboxImage+`, imagePullPolicy: `+policy+`, command: [sh, -c, 'echo ran']}
`)
			st := finish(t, b, ref)
			if policy == "Always" {
				if st.Phase != backends.Failed || len(st.Attempts) != 1 || st.Attempts[0].Reason != "StartError" {
					t.Errorf("%s %s %q, attempts %+v: want Failed with a StartError (the pull)", st.Phase, st.Reason, st.Message, st.Attempts)
				}
				return
			}
			if st.Phase != backends.Succeeded {
				t.Fatalf("%s %s: %s", st.Phase, st.Reason, st.Message)
			}
			if got := logsOf(t, b, ref); got != "main #0: ran" {
				t.Errorf("logs %q", got)
			}
		})
	}
}

// Delete stops the job's container at once, not after the task's runtime.
func TestDockerDeleteStopsContainer(t *testing.T) {
	b, d := dockerBackend(t)
	ref := submitDocker(t, b, `apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: `+dockerd.BusyboxImage+`, command: [sh, -c, 'echo started; sleep 300']}
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var pod string
	err := b.Watch(ctx, ref, func(st *backends.Status) bool {
		for _, a := range st.Attempts {
			if a.Phase == "Running" {
				pod = a.Pod
			}
		}
		return pod != "" || st.Phase.Terminal()
	})
	if err != nil || pod == "" {
		t.Fatalf("never running: %v", err)
	}
	running := func() []string {
		var cs []struct {
			ID     string
			Labels map[string]string
		}
		q := url.Values{"filters": {`{"status":["running"],"label":["com.hashicorp.nomad.alloc_id"]}`}}
		if err := d.Do(ctx, "GET", "/containers/json?"+q.Encode(), nil, &cs); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range cs {
			if strings.HasPrefix(c.Labels["com.hashicorp.nomad.alloc_id"], pod) {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}
	if len(running()) != 1 {
		t.Fatalf("allocation %s has no running container", pod)
	}
	if err := b.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	// Nomad stops the allocation asynchronously after the deregistration.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for ids := running(); len(ids) > 0; ids = running() {
		select {
		case <-ctx.Done():
			t.Fatalf("container %v of the deleted job still runs", ids)
		case <-tick.C:
		}
	}
}
