//go:build unix

package nomad_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/nomad"
	"github.com/batchctl/batchctl/config"
	"github.com/batchctl/batchctl/e2e/nomadagent"
	"github.com/batchctl/batchctl/jobspec"
)

func tokenBackend(t *testing.T, addr, token string) backends.Backend {
	t.Helper()
	b, err := nomad.Open(nomad.Options{Addr: addr, Token: config.Secret(token), Driver: "raw_exec"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

const deniedManifest = `apiVersion: batch/v1
kind: Job
metadata: {name: %NAME%}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["true"]}]
`

func manifest(t *testing.T, name string) *jobspec.Job {
	t.Helper()
	return parseJob(t, strings.ReplaceAll(deniedManifest, "%NAME%", name))
}

func parseJob(t *testing.T, manifest string) *jobspec.Job {
	t.Helper()
	job, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// A real agent with ACLs and a token whose policy may only read: submit is
// refused with Nomad's "Permission denied" (exit 3, not retried, the token
// never shown), while status works with the same token — on the backend and
// through the CLI.
func TestACLReadOnlyTokenCannotSubmit(t *testing.T) {
	a := nomadagent.ForTest(t, nomadagent.Options{ACL: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	read, err := a.CreateToken(ctx, "batchctl-read", `namespace "default" { policy = "read" }`)
	if err != nil {
		t.Fatal(err)
	}

	admin := tokenBackend(t, a.Addr, a.ManagementToken)
	if _, err := admin.Submit(ctx, manifest(t, "acl-existing")); err != nil {
		t.Fatalf("submit with the management token: %v", err)
	}
	if err := admin.Watch(ctx, backends.Ref{Name: "acl-existing"}, func(st *backends.Status) bool { return st.Phase.Terminal() }); err != nil {
		t.Fatal(err)
	}

	reader := tokenBackend(t, a.Addr, read)
	start := time.Now()
	_, err = reader.Submit(ctx, manifest(t, "acl-denied"))
	if !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("submit with a read-only token: %v, want ErrUnavailable (exit 3)", err)
	}
	for _, want := range []string{"permission denied by Nomad at " + a.Addr, "403", "Permission denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), read) {
		t.Errorf("the error shows the token: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v: a denial must not be retried", d)
	}
	st, err := reader.Status(ctx, backends.Ref{Name: "acl-existing"})
	if err != nil || st.Phase != backends.Succeeded {
		t.Errorf("status with the read-only token: %+v, %v; want the job, Succeeded", st, err)
	}
	if err := reader.Watch(ctx, backends.Ref{Name: "acl-existing"}, func(st *backends.Status) bool { return st.Phase.Terminal() }); err != nil {
		t.Errorf("wait with the read-only token: %v", err)
	}
	if _, err := tokenBackend(t, a.Addr, "").Status(ctx, backends.Ref{Name: "acl-existing"}); !errors.Is(err, backends.ErrUnavailable) ||
		!strings.Contains(err.Error(), "permission denied") {
		t.Errorf("status without a token: %v, want permission denied", err)
	}

	// The same through the CLI.
	cli := buildCLI(t)
	env := []string{"NOMAD_ADDR=" + a.Addr, "NOMAD_TOKEN=" + read}
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(strings.ReplaceAll(deniedManifest, "%NAME%", "acl-denied-cli")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, cli, env, "submit", "--backend", "nomad", job)
	t.Logf("batchctl submit: exit %d: %s", code, stderr)
	if code != 3 || !strings.Contains(stderr, "permission denied by Nomad at "+a.Addr) || strings.Contains(stderr, read) {
		t.Errorf("batchctl submit with a read-only token: exit %d, stderr %q; want exit 3, permission denied, no token", code, stderr)
	}
	code, stdout, stderr := runCLI(t, cli, env, "status", "--backend", "nomad", "acl-existing", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"phase": "Succeeded"`) {
		t.Errorf("batchctl status with a read-only token: exit %d, stdout %q, stderr %q; want exit 0, Succeeded", code, stdout, stderr)
	}
}

// buildCLI builds batchctl for a test that asserts on what a user sees:
// its exit code and stderr.
func buildCLI(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "batchctl")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build", "-o", path, "github.com/batchctl/batchctl/cmd/batchctl")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/batchctl: %v\n%s", err, out)
	}
	return path
}

// runCLI runs batchctl with only env (plus a private HOME and PATH): none of
// the developer's settings reach it.
func runCLI(t *testing.T, cli string, env []string, args ...string) (int, string, string) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(cli, args...)
	cmd.Env = append([]string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_STATE_HOME=" + home, "PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatalf("batchctl %s: %v", strings.Join(args, " "), err)
	}
	return 0, stdout.String(), stderr.String()
}
