package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/jobspec"
)

// statusEnv makes the test binary print one job's status and exit: a second
// process reading the same state directory.
const statusEnv = "LOCAL_TEST_STATUS"

func TestMain(m *testing.M) {
	local.MaybeSupervise()
	if v, ok := os.LookupEnv(statusEnv); ok {
		dir, name, _ := strings.Cut(v, "|")
		st, err := newBackend(dir).Status(context.Background(), backends.Ref{Name: name})
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(st)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newBackend(dir string) backends.Backend {
	b, err := local.Open(local.Options{StateDir: dir, Backoff: 10 * time.Millisecond}, io.Discard)
	if err != nil {
		panic(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Options{
		New:           func(t *testing.T) backends.Backend { return newBackend(t.TempDir()) },
		Timeout:       time.Minute,
		HostProcesses: true,
	})
}

func job(t *testing.T, manifest string) *jobspec.Job {
	t.Helper()
	j, err := jobspec.Parse("test.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// manifest is a Job running sh -c script.
func manifest(name, extraSpec, script string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
%s  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", %q]
`, name, extraSpec, script)
}

func finish(t *testing.T, ctx context.Context, b backends.Backend, ref backends.Ref) *backends.Status {
	t.Helper()
	var last *backends.Status
	err := b.Watch(ctx, ref, func(st *backends.Status) bool { last = st; return st.Phase.Terminal() })
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return last
}

func deref(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// describe is the status with every attempt and event.
func describe(t *testing.T, ctx context.Context, b backends.Backend, ref backends.Ref) *backends.Status {
	t.Helper()
	st, err := b.(backends.Describer).Describe(ctx, ref)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	return st
}

type lines struct{ got []string }

func (l *lines) Line(_ backends.LogSource, s string) { l.got = append(l.got, s) }

func TestFileModes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "state")
	b := newBackend(dir)
	ref := backends.Ref{Name: "modes", Namespace: "default"}
	if _, err := b.Submit(ctx, job(t, manifest("modes", "", "echo hello"))); err != nil {
		t.Fatal(err)
	}
	finish(t, ctx, b, ref)
	n := 0
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jobs", st.UID, "job.json")); err != nil || n < 12 {
		t.Errorf("job.json: %v; %d paths checked", err, n)
	}
}

func TestSharedStateDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b1, b2 := newBackend(dir), newBackend(dir)
	ref := backends.Ref{Name: "shared"}
	st, err := b1.Submit(ctx, job(t, manifest("shared", "", "sleep 0.2; echo hi")))
	if err != nil {
		t.Fatal(err)
	}
	if got := finish(t, ctx, b2, ref); got.UID != st.UID || got.Phase != backends.Succeeded {
		t.Fatalf("second backend saw %s %s, want %s Succeeded", got.UID, got.Phase, st.UID)
	}
	// A separate process reads the same state.
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), statusEnv+"="+dir+"|shared")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("status process: %v %s", err, out)
	}
	var other backends.Status
	if err := json.Unmarshal(out, &other); err != nil || other.UID != st.UID || other.Phase != backends.Succeeded {
		t.Errorf("status process printed %s (%v)", out, err)
	}
	if err := b2.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.Status(ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("after delete from the other backend: %v", err)
	}
}

func TestRender(t *testing.T) {
	b := newBackend(t.TempDir())
	j := job(t, `apiVersion: batch/v1
kind: Job
metadata:
  name: render
spec:
  template:
    spec:
      restartPolicy: OnFailure
      initContainers:
      - name: setup
        image: alpine
        command: ["true"]
      containers:
      - name: main
        image: busybox
        imagePullPolicy: Always
        command: ["echo"]
        args: ["hi"]
        resources:
          limits:
            cpu: "1"
      tolerations:
      - key: k
        operator: Exists
      volumes:
      - name: v
        emptyDir: {}
`)
	r, err := b.Render(j)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Fidelity {
		got = append(got, string(f.Level)+" "+f.Field)
		if f.Level == backends.Note && f.Message != "images alpine, busybox are not pulled: commands run on this machine" {
			t.Errorf("image note: %q", f.Message)
		}
	}
	// One note for every image of the job.
	// What only changes timing or placement is approximated; what can
	// change the outcome is unsupported and flagged so.
	want := []string{
		"unsupported spec.template.spec.volumes",
		"note spec.template.spec.containers[*].image",
		"approximated spec.template.spec.containers[0].resources.limits.cpu",
		"approximated spec.template.spec.containers[0].imagePullPolicy",
		"approximated spec.template.spec.tolerations",
	}
	for _, f := range r.Fidelity {
		if f.Outcome != (f.Level == backends.Unsupported) {
			t.Errorf("%s: outcome %v", f.Field, f.Outcome)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fidelity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := r.Native.(*local.Plan)
	if strings.Join(p.Containers[0].Argv, " ") != "echo hi" || p.RestartPolicy != "OnFailure" || !filepath.IsAbs(p.Containers[0].WorkingDir) {
		t.Errorf("plan %+v", p)
	}
	if _, err := json.Marshal(r.Native); err != nil {
		t.Error(err)
	}

	for field, m := range map[string]string{
		"spec.template.spec.containers[0] (main): no command": strings.Replace(manifest("e", "", "true"), `command: ["sh", "-c", "true"]`, "args: [\"x\"]", 1),
		// Nothing could ever resume it: refused rather than pending for ever.
		"spec.parallelism": manifest("p", "  parallelism: 0\n", "true"),
	} {
		_, err := b.Render(job(t, m))
		if !errors.Is(err, backends.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Render: %v, want invalid naming it", field, err)
		}
		if _, err := b.Submit(context.Background(), job(t, m)); !errors.Is(err, backends.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Submit: %v, want invalid naming it", field, err)
		}
	}
}

// TestSemantics pins what the suite leaves open: exact restart counts, the
// backoff delay between attempts, and containers that cannot start.
func TestSemantics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBackend(t.TempDir())
	onFailure := strings.Replace(manifest("onfailure", "  backoffLimit: 2\n", "exit 3"), "Never", "OnFailure", 1)
	never := manifest("never", "  backoffLimit: 2\n", "exit 3")
	badDir := strings.Replace(manifest("baddir", "  backoffLimit: 0\n", "true"), "image: busybox", "image: busybox\n        workingDir: /nonexistent/dir", 1)
	noExec := strings.Replace(manifest("noexec", "  backoffLimit: 0\n", "true"), `["sh", "-c", "true"]`, `["/nonexistent/prog"]`, 1)
	for _, m := range []string{onFailure, never, badDir, noExec} {
		if _, err := b.Submit(ctx, job(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]struct {
		failed   int32
		attempts int
		samePod  bool
		reason   string
		exit     int32
	}{
		"onfailure": {1, 3, true, "Error", 3},
		"never":     {3, 3, false, "Error", 3},
		"baddir":    {1, 1, true, "StartError", 128},
		"noexec":    {1, 1, true, "StartError", 128},
	} {
		finish(t, ctx, b, backends.Ref{Name: name})
		st := describe(t, ctx, b, backends.Ref{Name: name})
		if st.Phase != backends.Failed || st.Reason != backends.ReasonBackoffLimitExceeded || st.Failed != want.failed || len(st.Attempts) != want.attempts {
			t.Errorf("%s: %s/%s failed %d, %d attempts; want Failed/BackoffLimitExceeded failed %d, %d attempts",
				name, st.Phase, st.Reason, st.Failed, len(st.Attempts), want.failed, want.attempts)
			continue
		}
		// When the job finished, failed or not: DURATION stops growing.
		if st.CompletionTime == nil || st.StartTime == nil || st.CompletionTime.Before(*st.StartTime) {
			t.Errorf("%s: start %v completion %v, want completion set, not before start", name, st.StartTime, st.CompletionTime)
		}
		for i, a := range st.Attempts {
			// Under OnFailure the run that reaches the limit is stopped
			// with its pod, as the Job controller deletes it.
			stopped := want.samePod && want.attempts > 1 && i == len(st.Attempts)-1 && a.ExitCode != nil && *a.ExitCode > 128
			if !stopped && (a.Reason != want.reason || a.ExitCode == nil || *a.ExitCode != want.exit) || (a.Pod == st.Attempts[0].Pod) != (want.samePod || i == 0) {
				t.Errorf("%s: attempt %d: %s %s exit %v", name, i, a.Pod, a.Reason, deref(a.ExitCode))
			}
			// A new pod waits the Job controller's backoff, 10ms doubling per
			// failure; the kubelet restarts a container at once, then after
			// 10ms, doubling.
			if i > 0 {
				gap := a.StartTime.Sub(*st.Attempts[i-1].FinishTime)
				least := 10 * time.Millisecond << (i - 1)
				if want.samePod {
					least = 0
					if i > 1 {
						least = 10 * time.Millisecond << (i - 2)
					}
				}
				if gap < least {
					t.Errorf("%s: attempt %d started %v after the failure, want at least %v", name, i, gap, least)
				}
			}
		}
		if want.exit == 128 {
			var l lines
			_ = b.Logs(ctx, backends.Ref{Name: name}, backends.LogOptions{}, &l)
			if len(l.got) != 1 || !strings.Contains(l.got[0], "/nonexistent/") {
				t.Errorf("%s: logs %q should say what could not start", name, l.got)
			}
		}
	}
}
