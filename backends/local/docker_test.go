//go:build unix

package local_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/e2e/dockerd"
)

// dockerBackend is the local backend with runtime docker on the private
// test daemon (make test, make docker-up); it skips without one.
func dockerBackend(t *testing.T, dir string) backends.Backend {
	t.Helper()
	d := dockerd.ForTest(t)
	b, err := local.Open(local.Options{StateDir: dir, Backoff: 10 * time.Millisecond, Runtime: local.RuntimeDocker, DockerHost: d.Host}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The suite's manifests name busybox:1.36, which the test daemon has (an
// alias of its busybox image): IfNotPresent, so nothing is pulled. The
// processes run in containers, so the cases that share files or pids with
// the test (HostProcesses) check less; TestDockerRestartKeepsEmptyDir and
// TestDockerDeleteLeavesNothing check that instead.
func TestConformanceDocker(t *testing.T) {
	dockerd.ForTest(t)
	ns := fmt.Sprintf("suite-%d", time.Now().UnixNano())
	// Once every case is over, nothing any of them made is left.
	t.Cleanup(func() { leftovers(t, "batchctl.dev/namespace="+ns) })
	backendtest.Run(t, backendtest.Options{
		New:       func(t *testing.T) backends.Backend { return dockerBackend(t, t.TempDir()) },
		Namespace: ns,
		Timeout:   2 * time.Minute,
	})
}

// leftovers fails t if the daemon has a container or volume of batchctl's
// labelled with label (key, or key=value).
func leftovers(t *testing.T, label string) {
	t.Helper()
	d := dockerd.ForTest(t)
	cli, err := client.New(client.FromEnv, client.WithHost(d.Host))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := make(client.Filters).Add("label", label)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		t.Errorf("container left: %s %v %s", c.ID[:12], c.Names, c.State)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Items {
		t.Errorf("volume left: %s", v.Name)
	}
}

func dockerJob(t *testing.T, b backends.Backend, manifest string) backends.Ref {
	t.Helper()
	st, err := b.Submit(context.Background(), job(t, manifest))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

func logText(t *testing.T, b backends.Backend, ref backends.Ref) string {
	t.Helper()
	var l lines
	if err := b.Logs(context.Background(), ref, backends.LogOptions{}, &l); err != nil {
		t.Fatal(err)
	}
	return strings.Join(l.got, "\n")
}

// podJob is a Job manifest: spec lines (indented 2) and a pod spec (lines
// indented 6, from restartPolicy on).
func podJob(name, spec, pod string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n" + spec +
		"  template:\n    spec:\n" + pod
}

// runDocker submits manifest on a fresh docker-runtime backend, waits for
// the outcome and returns the job's status with attempts and events.
func runDocker(t *testing.T, manifest string) (backends.Backend, backends.Ref, *backends.Status) {
	t.Helper()
	b := dockerBackend(t, t.TempDir())
	ref := dockerJob(t, b, manifest)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	finish(t, ctx, b, ref)
	return b, ref, describe(t, ctx, b, ref)
}

func jobUID(t *testing.T, b backends.Backend, ref backends.Ref) string {
	t.Helper()
	st, err := b.Status(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return st.UID
}

// command replaces ENTRYPOINT, args CMD, as in Kubernetes: without
// command the image's entrypoint runs, with its CMD unless args are given.
func TestDockerEntrypoint(t *testing.T) {
	t.Parallel()
	img := dockerd.EntrypointImage
	b, ref, st := runDocker(t, podJob("entrypoint", "", `      restartPolicy: Never
      initContainers:
      - {name: image, image: `+img+`}
      - {name: args, image: `+img+`, args: ["x"]}
      - {name: command, image: `+img+`, command: ["echo", "c"]}
      containers:
      - {name: both, image: `+img+`, command: ["echo", "c"], args: ["$(V)"], env: [{name: V, value: x}]}
`))
	if st.Phase != backends.Succeeded {
		t.Fatalf("phase %s %s %s", st.Phase, st.Reason, st.Message)
	}
	want := map[string]string{"image": "entrypoint cmd", "args": "entrypoint x", "command": "c", "both": "c x"}
	for ctr, text := range want {
		var l lines
		if err := b.Logs(context.Background(), ref, backends.LogOptions{Container: ctr}, &l); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(l.got, "|"); got != text {
			t.Errorf("container %s printed %q, want %q", ctr, got, text)
		}
	}
}

// An emptyDir is shared by the pod's containers, init ones first, empty
// and writable by any user; a Memory one is a tmpfs of its sizeLimit. It
// outlives a container's restart in place (the suite's OnFailureRecovers,
// whose marker file is on this machine, cannot run in a container), and
// goes with the pod.
func TestDockerEmptyDir(t *testing.T) {
	t.Parallel()
	b, ref, st := runDocker(t, podJob("emptydir", "  backoffLimit: 2\n", `      restartPolicy: OnFailure
      volumes:
      - {name: disk, emptyDir: {}}
      - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
      initContainers:
      - name: init
        image: busybox:1.36
        command: ["sh", "-c", "echo from-init > /disk/f; echo mem > /mem/f; ls -A /tmp | wc -l"]
        volumeMounts: [{name: disk, mountPath: /disk}, {name: mem, mountPath: /mem}]
      containers:
      - name: main
        image: busybox:1.36
        securityContext: {runAsUser: 1000}
        command: ["sh", "-c", "cat /disk/f /mem/f; stat -c %a /disk /mem; df -k /mem | tail -1 | awk '{print $2}'; if [ -e /disk/again ]; then echo recovered; exit 0; fi; touch /disk/again; exit 3"]
        volumeMounts: [{name: disk, mountPath: /disk}, {name: mem, mountPath: /mem, readOnly: false}]
`))
	if st.Phase != backends.Succeeded {
		t.Fatalf("phase %s %s %s", st.Phase, st.Reason, st.Message)
	}
	got := logText(t, b, ref)
	for _, want := range []string{"from-init", "mem", "777\n777", "8192", "recovered"} {
		if !strings.Contains(got, want) {
			t.Errorf("logs lack %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "from-init"); n != 2 {
		t.Errorf("main ran %d times with the init container's file, want 2 (a restart in place):\n%s", n, got)
	}
	leftovers(t, "batchctl.dev/job-uid="+jobUID(t, b, ref))
}

// The containers of a pod share its network namespace (localhost) and
// hostname, the pod's name.
func TestDockerSharedNetwork(t *testing.T) {
	t.Parallel()
	b, ref, st := runDocker(t, podJob("network", "", `      restartPolicy: Never
      containers:
      - name: server
        image: busybox:1.36
        command: ["sh", "-c", "echo hello | nc -l -p 7777; hostname"]
      - name: client
        image: busybox:1.36
        command: ["sh", "-c", "for i in $(seq 50); do nc 127.0.0.1 7777 && exit 0; sleep 0.1; done; exit 1"]
`))
	if st.Phase != backends.Succeeded {
		t.Fatalf("phase %s %s %s:\n%s", st.Phase, st.Reason, st.Message, logText(t, b, ref))
	}
	got := logText(t, b, ref)
	if !strings.Contains(got, "hello") || !strings.Contains(got, "network-") {
		t.Errorf("logs: %q, want the client's hello and the pod's name as hostname", got)
	}
}

// Limits are enforced: a container over its memory limit is killed,
// OOMKilled (137), and the job fails; the CPU limit is a CFS quota.
func TestDockerLimits(t *testing.T) {
	t.Parallel()
	b, ref, st := runDocker(t, podJob("limits", "  backoffLimit: 0\n", `      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null; x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived"]
        resources: {limits: {memory: 16Mi, cpu: 500m}}
`))
	if st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded {
		t.Fatalf("phase %s %s %s", st.Phase, st.Reason, st.Message)
	}
	if len(st.Attempts) != 1 || st.Attempts[0].Reason != "OOMKilled" || deref(st.Attempts[0].ExitCode) != int32(137) {
		t.Errorf("attempts %+v (exit %v), want one OOMKilled with 137:\n%s", st.Attempts, deref(st.Attempts[0].ExitCode), logText(t, b, ref))
	}
	if got := logText(t, b, ref); !strings.Contains(got, "50000") || strings.Contains(got, "survived") {
		t.Errorf("logs %q, want the quota of 0.5 CPU and no survival", got)
	}
}

// Only the manifest's env (and the pod's values) reach a container, never
// the environment batchctl ran in; workingDir and runAsUser/runAsGroup
// apply, a read-only root filesystem is.
func TestDockerEnvAndSecurity(t *testing.T) {
	t.Setenv("LOCAL_DOCKER_TEST_LEAK", "leaked")
	b, ref, st := runDocker(t, podJob("envsec", "  completions: 1\n  completionMode: Indexed\n", `      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        workingDir: /etc
        command: ["sh", "-c", "env | sort; pwd; id -u; id -g; touch /x || echo read-only"]
        env:
        - {name: FROM_MANIFEST, value: "yes"}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        securityContext: {runAsUser: 1234, runAsGroup: 99, readOnlyRootFilesystem: true}
`))
	if st.Phase != backends.Succeeded {
		t.Fatalf("phase %s %s %s", st.Phase, st.Reason, st.Message)
	}
	got := logText(t, b, ref)
	for _, want := range []string{"FROM_MANIFEST=yes", "JOB_COMPLETION_INDEX=0", "POD=envsec-0-", "/etc", "1234", "99", "read-only"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "leaked") {
		t.Errorf("the submitter's environment reached the container:\n%s", got)
	}
}

// A missing image is ErrImagePull, retried (the pod stays Pending) until
// the job's deadline fails it; Never is ErrImageNeverPull; runAsNonRoot on
// an image that runs as root is CreateContainerConfigError. Each is named
// in the events.
func TestDockerWaitingReasons(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, container, want string }{
		{"pull", "{name: main, image: batchctl.invalid/test/missing:1, command: [\"true\"]}", "ErrImagePull"},
		{"never", "{name: main, image: batchctl.invalid/test/missing:1, imagePullPolicy: Never, command: [\"true\"]}", "ErrImageNeverPull"},
		{"nonroot", "{name: main, image: busybox:1.36, command: [\"true\"], securityContext: {runAsNonRoot: true}}", "CreateContainerConfigError"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, _, st := runDocker(t, podJob("waiting-"+c.name, "  activeDeadlineSeconds: 3\n", "      restartPolicy: Never\n      containers:\n      - "+c.container+"\n"))
			if st.Phase != backends.Failed || st.Reason != backends.ReasonDeadlineExceeded {
				t.Errorf("phase %s %s %s", st.Phase, st.Reason, st.Message)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %v", d)
			}
			var evs []string
			found := false
			for _, e := range st.Events {
				evs = append(evs, e.Reason+": "+e.Message)
				found = found || strings.Contains(e.Message, c.want)
			}
			if !found {
				t.Errorf("no event names %s:\n%s", c.want, strings.Join(evs, "\n"))
			}
		})
	}
}

// Deleting a running job stops and removes its containers, sandbox and
// volumes; so does the first command after its supervisor was killed.
func TestDockerNothingLeft(t *testing.T) {
	t.Parallel()
	const pod = `      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      volumes: [{name: scratch, emptyDir: {}}]
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "echo started; sleep 60"]
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      - {name: side, image: busybox:1.36, command: ["sleep", "60"]}
`
	started := func(ctx context.Context, b backends.Backend, ref backends.Ref) {
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		var seen lines
		_ = b.Logs(fctx, ref, backends.LogOptions{Follow: true}, sinkFunc(func(s string) {
			seen.got = append(seen.got, s)
			stop()
		}))
		if len(seen.got) == 0 {
			t.Fatal("the job never started")
		}
	}
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		b := dockerBackend(t, t.TempDir())
		ref := dockerJob(t, b, podJob("left-delete", "", pod))
		started(ctx, b, ref)
		uid := jobUID(t, b, ref)
		if err := b.Delete(ctx, ref); err != nil {
			t.Fatal(err)
		}
		leftovers(t, "batchctl.dev/job-uid="+uid)
	})
	t.Run("supervisor-killed", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		b := dockerBackend(t, t.TempDir())
		ref := dockerJob(t, b, podJob("left-killed", "", pod))
		started(ctx, b, ref)
		uid := jobUID(t, b, ref)
		pid, err := local.SupervisorPID(b, ref)
		if err != nil || pid <= 0 {
			t.Fatalf("supervisor pid: %d %v", pid, err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		local.WaitSupervisor(b, uid)
		st, err := b.Status(ctx, ref)
		if err != nil || st.Reason != backends.ReasonSupervisorLost {
			t.Fatalf("status %+v %v, want SupervisorLost", st, err)
		}
		leftovers(t, "batchctl.dev/job-uid="+uid)
	})
}
