//go:build linux

package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/remote"
	"github.com/batchctl/batchctl/e2e/kube"
	"github.com/batchctl/batchctl/jobspec"
)

// binEnv names the directory of the control-plane binaries `make test`
// builds; without it the tests that need a real cluster skip. kube.NodeEnv
// says what runs the pods: make test asks for the real node (both: a real
// kubelet, and a tainted kwok node for what asks for simulation).
const binEnv = "BATCHCTL_K8S_BIN"

var cluster *kube.Cluster

func TestMain(m *testing.M) {
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	if dir := os.Getenv(binEnv); dir != "" {
		node, err := kube.NodeFromEnv()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		work, err := os.MkdirTemp("", "batchctl-k8s-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cluster, err = kube.Start(context.Background(), kube.Options{BinDir: dir, WorkDir: work, Node: node})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the control plane:", err)
			return 1
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				// The work directory may hold the node's leftovers: keep it.
				fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
				return
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

// needRealNode skips t unless a real kubelet runs the pods.
func needRealNode(t *testing.T) {
	t.Helper()
	needCluster(t)
	if cluster.Simulated() {
		t.Skipf("pods are simulated (kwok): set %s=both or kubelet (make test does) for a real node", kube.NodeEnv)
	}
}

func TestConformance(t *testing.T) {
	needCluster(t)
	backendtest.Run(t, backendtest.Options{
		New:     newBackend,
		Timeout: 2 * time.Minute, // the Job controller waits 10s, 20s… between failed pods
		// On kwok alone, pods move through phases and nothing executes; on
		// the real node every case runs its commands.
		Simulated: cluster.Simulated(),
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

// --- On the real node: what only real containers show. ---

// realJob submits manifest with b and deletes the job when t ends.
func realJob(t *testing.T, ctx context.Context, b backends.Backend, manifest string) backends.Ref {
	t.Helper()
	st, err := b.Submit(ctx, parse(t, manifest))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	t.Cleanup(func() { _ = b.Delete(context.Background(), ref) })
	return ref
}

func finish(t *testing.T, ctx context.Context, b backends.Backend, ref backends.Ref) *backends.Status {
	t.Helper()
	var last *backends.Status
	if err := b.Watch(ctx, ref, func(st *backends.Status) bool { last = st; return st.Phase.Terminal() }); err != nil {
		t.Fatalf("Watch %s: %v", ref.Name, err)
	}
	return last
}

// byRun groups lines by (index, attempt), in order.
func byRun(lines []logLine) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		k := fmt.Sprintf("#%d attempt %d", ptrOr(l.src.Index, -1), l.src.Attempt)
		out[k] = append(out[k], l.text)
	}
	return out
}

func describe(t *testing.T, ctx context.Context, b backends.Backend, ref backends.Ref) *backends.Status {
	t.Helper()
	st, err := b.(backends.Describer).Describe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A job printing a unique set of lines per index and attempt (tabs,
// trailing spaces, UTF-8, a carriage return, an empty line, a 100 KB line
// the runtime writes in 16 KB pieces, stderr, no newline at the end) is
// reproduced exactly by Logs, and the lines joined are byte for byte what
// the API server serves for each pod. Each index fails on its first
// attempt, so every index has two pods: attempts 0 and 1.
func TestRealLogsByteForByte(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := newBackend(t)
	dir := t.TempDir() // the node is this machine: a hostPath shares it
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: bytes}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  backoffLimitPerIndex: 1
  template:
    spec:
      restartPolicy: Never
      volumes: [{name: data, hostPath: {path: `+dir+`}}]
      containers:
      - name: main
        image: busybox:1.36
        volumeMounts: [{name: data, mountPath: /data}]
        command:
        - sh
        - -c
        - |
          f=/data/index-$JOB_COMPLETION_INDEX
          n=$(cat $f 2>/dev/null || echo 0); echo $((n+1)) > $f
          printf 'index %s attempt %s\n' "$JOB_COMPLETION_INDEX" "$n"
          printf '\ttab, then trailing spaces   \n'
          printf 'UTF-8: h\303\251llo w\303\266rld \342\234\223\n'
          printf '\n'
          printf 'carriage\rreturn \\ backslash\n'
          head -c 100000 /dev/zero | tr '\0' x; printf '\n'
          sleep 0.2; printf 'to stderr %s/%s\n' "$JOB_COMPLETION_INDEX" "$n" >&2; sleep 0.2
          printf 'no newline at the end %s/%s' "$JOB_COMPLETION_INDEX" "$n"
          [ "$n" -ge 1 ]
`)
	st := finish(t, ctx, b, ref)
	if st.Phase != backends.Succeeded || st.Failed != 2 {
		t.Fatalf("job %s failed=%d, want Succeeded after 2 failures", st.Phase, st.Failed)
	}
	want := func(i, n int) []string {
		return []string{
			fmt.Sprintf("index %d attempt %d", i, n),
			"\ttab, then trailing spaces   ",
			"UTF-8: héllo wörld ✓",
			"",
			"carriage\rreturn \\ backslash",
			strings.Repeat("x", 100000),
			fmt.Sprintf("to stderr %d/%d", i, n),
			fmt.Sprintf("no newline at the end %d/%d", i, n),
		}
	}
	for _, follow := range []bool{false, true} {
		var s lineSink
		if err := b.Logs(ctx, ref, backends.LogOptions{Follow: follow}, &s); err != nil {
			t.Fatal(err)
		}
		got := byRun(s.get())
		if len(got) != 4 {
			t.Errorf("follow=%v: runs %v, want #0 and #1, attempts 0 and 1 each", follow, keys(got))
		}
		for i := 0; i < 2; i++ {
			for n := 0; n < 2; n++ {
				k := fmt.Sprintf("#%d attempt %d", i, n)
				if g, w := got[k], want(i, n); strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("follow=%v: %s:\n got %q\nwant %q", follow, k, clip(g), clip(w))
				}
			}
		}
	}
	// The same bytes as the API server's own log of each pod.
	d := describe(t, ctx, b, ref)
	var s lineSink
	if err := b.Logs(ctx, ref, backends.LogOptions{}, &s); err != nil {
		t.Fatal(err)
	}
	perPod := map[string][]string{}
	for _, l := range s.get() {
		perPod[l.src.Pod] = append(perPod[l.src.Pod], l.text)
	}
	for _, a := range d.Attempts {
		code, raw, err := cluster.Do(ctx, "GET", "/api/v1/namespaces/"+ref.Namespace+"/pods/"+a.Pod+"/log", nil)
		if err != nil || code != 200 {
			t.Fatalf("raw log of %s: HTTP %d %v", a.Pod, code, err)
		}
		if got := strings.Join(perPod[a.Pod], "\n"); got != string(raw) {
			t.Errorf("pod %s: Logs joined differ from the API server's %d bytes (got %d)", a.Pod, len(raw), len(got))
		}
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func clip(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 80 {
			l = fmt.Sprintf("%s…(%d bytes)", l[:40], len(l))
		}
		out[i] = l
	}
	return out
}

// A line longer than the 1 MiB line buffer comes in pieces of 1 MiB.
func TestRealLongLineInPieces(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: long-line}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "echo before; head -c 2621440 /dev/zero | tr '\\0' y; echo; echo after"]
`)
	if st := finish(t, ctx, b, ref); st.Phase != backends.Succeeded {
		t.Fatalf("job %s", st.Phase)
	}
	var s lineSink
	if err := b.Logs(ctx, ref, backends.LogOptions{}, &s); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, l := range s.get() {
		if strings.Trim(l.text, "y") != "" && l.text != "before" && l.text != "after" {
			t.Errorf("unexpected line %q", clip([]string{l.text}))
		}
		sizes = append(sizes, len(l.text))
	}
	if want := []int{6, 1 << 20, 1 << 20, 512 << 10, 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("line sizes %v, want %v", sizes, want)
	}
}

func TestReadLinesBounded(t *testing.T) {
	const limit = 10
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"0123456789\n", []string{"0123456789"}},
		{"0123456789A\n", []string{"0123456789", "A"}},
		{"0123456789ABCDEFGHIJ\nz", []string{"0123456789", "ABCDEFGHIJ", "z"}},
		{"0123456789ABCDEFGHIJK", []string{"0123456789", "ABCDEFGHIJ", "K"}},
		{"", nil},
	} {
		var got []string
		err := readLines(iotest.OneByteReader(strings.NewReader(tc.in)), limit, func(l []byte) { got = append(got, string(l)) })
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("readLines(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// A 3 MiB line through the real limit: pieces, memory bounded by them.
	big := strings.Repeat("z", 3<<20+5) + "\nend"
	var sizes []int
	if err := readLines(strings.NewReader(big), maxLine, func(l []byte) { sizes = append(sizes, len(l)) }); err != nil {
		t.Fatal(err)
	}
	if want := []int{1 << 20, 1 << 20, 1 << 20, 5, 3}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
}

// An OnFailure job that fails twice in place, then succeeds: followed from
// the start (its init container keeps it in PodInitializing first), the
// logs carry attempts 0, 1 and 2; describe lists the three runs of the one
// pod, the last two with their exit codes (the kubelet keeps two).
func TestRealOnFailureAttempts(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: in-place}
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: OnFailure
      volumes: [{name: data, emptyDir: {}}]
      initContainers:
      - name: setup
        image: busybox:1.36
        command: ["sh", "-c", "sleep 1; echo setup done"]
      containers:
      - name: main
        image: busybox:1.36
        volumeMounts: [{name: data, mountPath: /data}]
        command: ["sh", "-c", "n=$(cat /data/n 2>/dev/null || echo 0); echo $((n+1)) > /data/n; echo run $n; [ $n -ge 2 ] || exit 3"]
`)
	var follow lineSink
	followed := make(chan error, 1)
	go func() { followed <- b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &follow) }()
	st := finish(t, ctx, b, ref)
	if st.Phase != backends.Succeeded || st.Failed != 0 {
		t.Fatalf("job %s failed=%d, want Succeeded, failed 0 (restarts in place are not failed pods)", st.Phase, st.Failed)
	}
	if err := <-followed; err != nil {
		t.Fatalf("Logs -f: %v", err)
	}
	got := map[string]int32{}
	for _, l := range follow.get() {
		got[l.src.Container+": "+l.text] = l.src.Attempt
	}
	want := map[string]int32{"setup: setup done": 0, "main: run 0": 0, "main: run 1": 1, "main: run 2": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("followed lines by attempt %v, want %v", got, want)
	}

	d := describe(t, ctx, b, ref)
	if len(d.Attempts) != 3 {
		t.Fatalf("attempts %+v, want 3", d.Attempts)
	}
	for i, a := range d.Attempts {
		if a.Pod != d.Attempts[0].Pod || a.Attempt != int32(i) {
			t.Errorf("attempt %d is %s #%d, want one pod, numbered 0-2", i, a.Pod, a.Attempt)
		}
	}
	a0, a1, a2 := d.Attempts[0], d.Attempts[1], d.Attempts[2]
	if a0.Phase != backends.Failed || a0.Reason != reasonRestarted || a0.ExitCode != nil {
		t.Errorf("attempt 0: %s %s exit %v, want Failed %s (its exit code is not kept)", a0.Phase, a0.Reason, a0.ExitCode, reasonRestarted)
	}
	if a1.Phase != backends.Failed || a1.ExitCode == nil || *a1.ExitCode != 3 || a1.Reason != "Error" {
		t.Errorf("attempt 1: %s %s exit %v, want Failed Error 3", a1.Phase, a1.Reason, a1.ExitCode)
	}
	if a2.Phase != backends.Succeeded || a2.ExitCode == nil || *a2.ExitCode != 0 || a2.Reason != "Completed" {
		t.Errorf("attempt 2: %s %s exit %v, want Succeeded Completed 0", a2.Phase, a2.Reason, a2.ExitCode)
	}

	// Afterwards the kubelet has the last two runs' logs, until its
	// container GC (every minute) removes the previous run of the finished
	// pod; notes say which runs' logs are gone.
	var note strings.Builder
	b2, err := Open(Options{Kubeconfig: cluster.Kubeconfig}, &note)
	if err != nil {
		t.Fatal(err)
	}
	var s lineSink
	if err := b2.Logs(ctx, ref, backends.LogOptions{Container: "main"}, &s); err != nil {
		t.Fatal(err)
	}
	got = map[string]int32{}
	for _, l := range s.get() {
		got[l.text] = l.src.Attempt
	}
	gc := strings.Contains(note.String(), "the log of attempt 1 is gone: the kubelet removed its container")
	want = map[string]int32{"run 1": 1, "run 2": 2}
	if gc {
		want = map[string]int32{"run 2": 2}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines by attempt %v, want %v (stderr %q)", got, want, note.String())
	}
	if !strings.Contains(note.String(), "the log of attempt 0 is gone") {
		t.Errorf("stderr %q does not say that attempt 0's log is gone", note.String())
	}
}

// An OnFailure job that keeps failing: the Job controller deletes its pod
// when the restarts reach the backoff limit, and describe still lists its
// runs, from the pod's events.
func TestRealOnFailureExhausted(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: exhausted}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "echo failing; exit 3"]
`)
	st := finish(t, ctx, b, ref)
	if st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded || st.Failed != 1 {
		t.Fatalf("job %s %s failed=%d, want Failed BackoffLimitExceeded failed=1", st.Phase, st.Reason, st.Failed)
	}
	d := describe(t, ctx, b, ref)
	if len(d.Attempts) < 3 {
		t.Fatalf("attempts %+v, want the 3 runs of the deleted pod", d.Attempts)
	}
	for i, a := range d.Attempts {
		if a.Pod != d.Attempts[0].Pod || a.Attempt != int32(i) || a.Phase != backends.Failed {
			t.Errorf("attempt %d is %s #%d %s, want one pod, numbered from 0, Failed", i, a.Pod, a.Attempt, a.Phase)
		}
	}
	// Gone, the pod's last run is known from its events; still there (being
	// deleted), from its status.
	if last := d.Attempts[len(d.Attempts)-1]; last.Reason != reasonDeleted && (last.ExitCode == nil || last.Reason != "Error") {
		t.Errorf("last attempt %s exit %v, want %q, or the run's own exit code", last.Reason, last.ExitCode, reasonDeleted)
	}
	if a := d.Attempts[0]; a.Reason != reasonRestarted {
		t.Errorf("attempt 0: %s, want %s", a.Reason, reasonRestarted)
	}
}

// A memory limit ends the container with OOMKilled (exit 137).
func TestRealOOMKilled(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: oom}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        resources: {limits: {memory: 32Mi}}
        command: ["sh", "-c", "echo allocating; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo unreachable"]
`)
	st := finish(t, ctx, b, ref)
	if st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded {
		t.Fatalf("job %s %s, want Failed BackoffLimitExceeded", st.Phase, st.Reason)
	}
	d := describe(t, ctx, b, ref)
	if len(d.Attempts) != 1 {
		t.Fatalf("attempts %+v", d.Attempts)
	}
	if a := d.Attempts[0]; a.Reason != "OOMKilled" || a.ExitCode == nil || *a.ExitCode != 137 || a.Phase != backends.Failed {
		t.Errorf("attempt %s %s exit %v, want Failed OOMKilled 137", a.Phase, a.Reason, a.ExitCode)
	}
}

// containersOf lists the real node's running containers of a job's pods.
func containersOf(t *testing.T, ctx context.Context, job string) []string {
	t.Helper()
	all, err := cluster.RunningContainers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range all {
		if strings.HasPrefix(c, "default/"+job+"-") {
			out = append(out, c)
		}
	}
	return out
}

func eventually(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf(format, args...)
		}
	}
}

// The deadline and Delete stop the containers themselves: the kubelet sends
// SIGTERM (which the script traps, and says so: logs -f still gets that
// last line from the stopping pod), and nothing of the job runs afterwards.
func TestRealDeadlineAndDeleteStopContainers(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	const script = `["sh", "-c", "trap 'echo got SIGTERM; exit 143' TERM; echo started; while :; do sleep 0.2; done"]`
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: deadline-stops}
spec:
  activeDeadlineSeconds: 4
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: `+script+`
`)
	var follow lineSink
	if err := b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &follow); err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != backends.Failed || st.Reason != backends.ReasonDeadlineExceeded {
		t.Errorf("job %s %s, want Failed DeadlineExceeded", st.Phase, st.Reason)
	}
	var texts []string
	for _, l := range follow.get() {
		texts = append(texts, l.text)
	}
	if strings.Join(texts, "|") != "started|got SIGTERM" {
		t.Errorf("followed lines %q, want started, got SIGTERM", texts)
	}
	if c := containersOf(t, ctx, ref.Name); len(c) > 0 {
		t.Errorf("still running after the deadline: %v", c)
	}

	// Delete: the pod goes with a grace period the script ignores; SIGKILL
	// ends it after 2s.
	ref = realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: delete-stops}
spec:
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: busybox:1.36
        command: ["sh", "-c", "trap '' TERM; echo started; while :; do sleep 0.2; done"]
`)
	eventually(t, time.Minute, func() bool { return len(containersOf(t, ctx, ref.Name)) == 1 }, "the container never ran")
	if err := b.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	eventually(t, 30*time.Second, func() bool { return len(containersOf(t, ctx, ref.Name)) == 0 },
		"the deleted job's container still runs: %v", containersOf(t, ctx, ref.Name))
	t.Logf("container gone %v after Delete (grace period 2s)", time.Since(t0).Round(100*time.Millisecond))
}

// traced is a backend that counts its API requests.
func traced(t *testing.T) (backends.Backend, *strings.Builder) {
	var out strings.Builder
	b, err := Open(Options{Kubeconfig: cluster.Kubeconfig, Trace: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	return b, &out
}

// tracedStatus is one Status with its request count.
func tracedStatus(t *testing.T, ctx context.Context, ref backends.Ref) (*backends.Status, string) {
	t.Helper()
	b, out := traced(t)
	st, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	return st, strings.TrimSpace(out.String())
}

// Pods that cannot start make status say why, from the pods; a job whose
// pods run costs one request.
func TestRealPendingExplained(t *testing.T) {
	needRealNode(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := newBackend(t)
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{{
		name: "missing-image",
		spec: `containers: [{name: main, image: "` + kube.MissingImage + `", command: ["true"]}]`,
		want: []string{"waiting: pod missing-image-", ": ErrImagePull: ", "ImagePullBackOff: "},
	}, {
		name: "unschedulable",
		spec: `nodeSelector: {batchctl.dev/nowhere: "true"}
      containers: [{name: main, image: busybox:1.36, command: ["true"]}]`,
		want: []string{"waiting: pod unschedulable-", ": Unschedulable: 0/"},
	}, {
		name: "crash-loop",
		spec: `containers: [{name: main, image: busybox:1.36, command: ["sh", "-c", "exit 1"]}]`,
		want: []string{"waiting: pod crash-loop-", ": CrashLoopBackOff: back-off", "; last run exited 1 (Error)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			restart := "Never"
			if tc.name == "crash-loop" {
				restart = "OnFailure"
			}
			ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: `+tc.name+`}
spec:
  backoffLimit: 1000
  template:
    spec:
      restartPolicy: `+restart+`
      `+tc.spec+`
`)
			// Every phrase shows up, in one status or another (ErrImagePull
			// turns into ImagePullBackOff; a crash loop backs off for 1s at a
			// time).
			seen := map[string]bool{}
			var last, trace string
			eventually(t, 90*time.Second, func() bool {
				st, tr := tracedStatus(t, ctx, ref)
				last, trace = st.Message, tr
				if st.Phase.Terminal() {
					t.Fatalf("job %s", st.Phase)
				}
				n := 0
				for _, w := range tc.want {
					if strings.HasPrefix(w, "waiting: ") && strings.HasPrefix(st.Message, w) || strings.Contains(st.Message, w) {
						seen[w] = true
					}
					if seen[w] {
						n++
					}
				}
				return n == len(tc.want)
			}, "status messages never said %q; last %q", tc.want, last)
			if !strings.Contains(trace, "2 API requests: GET jobs=1, GET pods=1") {
				t.Errorf("status of a waiting job: %q, want one GET of the job and one of its pods", trace)
			}
			// describe says it too; a crash loop runs its container between
			// back-offs, so it is looked at until it waits again.
			for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				msg := describe(t, ctx, b, ref).Message
				if strings.HasPrefix(msg, "waiting: pod "+tc.name+"-") {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("describe never explained the wait; last message %q", msg)
				}
			}
		})
	}

	// Running pods need no explanation: one request.
	ref := realJob(t, ctx, b, `apiVersion: batch/v1
kind: Job
metadata: {name: running}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36, command: ["sleep", "60"]}]
`)
	var st *backends.Status
	var trace string
	eventually(t, time.Minute, func() bool {
		st, trace = tracedStatus(t, ctx, ref)
		return st.Phase == backends.Running && strings.Contains(trace, "1 API requests")
	}, "status of a running job: %q", trace)
	if st.Phase != backends.Running || st.Message != "" {
		t.Errorf("running job: %s %q", st.Phase, st.Message)
	}
}

// Lines read ahead of their turn are held up to a limit; past it the reader
// waits until they are passed on, then the rest follows in order.
func TestHeldLinesBounded(t *testing.T) {
	h := newHeldLines(10)
	src := backends.LogSource{Pod: "p"}
	wrote := make(chan int, 100)
	go func() {
		for i := 0; i < 20; i++ {
			h.Line(src, fmt.Sprintf("line %02d", i)) // 7 bytes: the second fills the hold
			wrote <- i
		}
		h.close(errors.New("stream ended badly"))
	}()
	time.Sleep(100 * time.Millisecond)
	if n := len(wrote); n != 2 {
		t.Errorf("%d lines held before anyone read them, want 2 (the limit is 10 bytes)", n)
	}
	var s lineSink
	if err := h.drainTo(&s); err == nil || err.Error() != "stream ended badly" {
		t.Errorf("drainTo: %v, want the stream's error", err)
	}
	got := s.get()
	if len(got) != 20 {
		t.Fatalf("%d lines, want 20", len(got))
	}
	for i, l := range got {
		if l.text != fmt.Sprintf("line %02d", i) {
			t.Errorf("line %d is %q", i, l.text)
		}
	}
	// Abandoned, it drops lines instead of waiting for a reader.
	h = newHeldLines(1)
	h.abandon()
	done := make(chan struct{})
	go func() { h.Line(src, "x"); h.Line(src, "y"); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Line blocked on an abandoned buffer")
	}
}

// --- Without a cluster: attempts and waits from pod statuses and events. ---

func TestAttemptsFromPodsAndEvents(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", UID: "job-uid"}}
	pods := []corev1.Pod{
		// A failed pod; its replacement, restarted in place three times
		// before it failed for good; then a third pod, deleted since.
		testPod("j-a", 1, corev1.PodFailed, corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Terminated: exited(137, "OOMKilled")}}),
		testPod("j-b", 2, corev1.PodFailed, corev1.ContainerStatus{Name: "main", RestartCount: 3,
			LastTerminationState: corev1.ContainerState{Terminated: exited(3, "Error")},
			State:                corev1.ContainerState{Terminated: exited(2, "Error")}}),
	}
	ev := func(reason, object, msg string, count int32, at int) corev1.Event {
		uid := types.UID(object)
		kind := "Pod"
		if object == "j" {
			uid, kind = job.UID, "Job"
		}
		return corev1.Event{Reason: reason, Message: msg, Count: count,
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: object, UID: uid},
			FirstTimestamp: metav1.NewTime(time.Unix(int64(at), 0)), LastTimestamp: metav1.NewTime(time.Unix(int64(at+5), 0))}
	}
	events := []corev1.Event{
		ev("SuccessfulCreate", "j", "Created pod: j-a", 1, 1),
		ev("SuccessfulCreate", "j", "Created pod: j-b", 1, 2),
		ev("SuccessfulCreate", "j", "(combined from similar events): Created pod: j-c", 1, 30),
		ev("Started", "j-b", "Container started", 4, 2),
		ev("Started", "j-c", "Container started", 3, 30), // j-c is gone: deleted after 3 runs
		ev("Started", "other", "Container started", 9, 1),
	}
	got := jobAttempts(job, pods, sortEvents(job, pods, events))
	type row struct {
		pod     string
		attempt int32
		phase   backends.Phase
		exit    int32
		reason  string
	}
	var rows []row
	for _, a := range got {
		rows = append(rows, row{a.Pod, a.Attempt, a.Phase, ptrOr(a.ExitCode, -1), a.Reason})
	}
	want := []row{
		{"j-a", 0, backends.Failed, 137, "OOMKilled"},
		{"j-b", 1, backends.Failed, -1, reasonRestarted},
		{"j-b", 2, backends.Failed, -1, reasonRestarted},
		{"j-b", 3, backends.Failed, 3, "Error"},
		{"j-b", 4, backends.Failed, 2, "Error"},
		{"j-c", 5, backends.Failed, -1, reasonRestarted},
		{"j-c", 6, backends.Failed, -1, reasonRestarted},
		{"j-c", 7, backends.Failed, -1, reasonDeleted},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("attempts:\n got %v\nwant %v", rows, want)
	}
	if st := got[1].StartTime; st == nil || !st.Equal(time.Unix(2, 0)) {
		t.Errorf("j-b's first run started %v, want its first Started event", st)
	}
}

func TestExplainWaiting(t *testing.T) {
	creating := testPod("p-1", 1, corev1.PodPending, corev1.ContainerStatus{Name: "main",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}})
	pulling := testPod("p-2", 2, corev1.PodPending, corev1.ContainerStatus{Name: "main",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"x\":\n  nope"}}})
	looping := testPod("p-3", 3, corev1.PodRunning, corev1.ContainerStatus{Name: "main", RestartCount: 2,
		LastTerminationState: corev1.ContainerState{Terminated: exited(1, "Error")},
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1s"}}})
	running := testPod("p-4", 4, corev1.PodRunning, corev1.ContainerStatus{Name: "main",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	initLoop := testPod("p-6", 6, corev1.PodPending, corev1.ContainerStatus{Name: "main",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}})
	initLoop.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
	initLoop.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", RestartCount: 3,
		LastTerminationState: corev1.ContainerState{Terminated: exited(1, "Error")},
		State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	unscheduled := testPod("p-5", 5, corev1.PodPending)
	unscheduled.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: "Unschedulable", Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}}
	for _, tc := range []struct {
		pods []corev1.Pod
		want string
	}{
		{[]corev1.Pod{running}, ""},
		{[]corev1.Pod{creating, running}, "waiting: pod p-1: ContainerCreating"},
		{[]corev1.Pod{creating, pulling, running}, `waiting: pod p-2: ImagePullBackOff: Back-off pulling image "x": nope (and 1 more pod waiting)`},
		{[]corev1.Pod{looping}, "waiting: pod p-3: CrashLoopBackOff: back-off 1s; last run exited 1 (Error)"},
		// an init container running again after failures holds the pod up, not PodInitializing
		{[]corev1.Pod{initLoop}, "waiting: pod p-6/setup: Init:Running: restarted 3 times; last run exited 1 (Error)"},
		{[]corev1.Pod{unscheduled, creating}, "waiting: pod p-5: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. (and 1 more pod waiting)"},
	} {
		if got := explainWaiting(tc.pods, nil); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	// With events (describe), a pod on its ordinary way but with a warning
	// is explained by the warning.
	warn := corev1.Event{Type: corev1.EventTypeWarning, Reason: "FailedMount", Message: "MountVolume.SetUp failed for volume \"data\""}
	got := explainWaiting([]corev1.Pod{creating}, map[string][]corev1.Event{"p-1": {warn}})
	if want := `waiting: pod p-1: FailedMount: MountVolume.SetUp failed for volume "data"`; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
