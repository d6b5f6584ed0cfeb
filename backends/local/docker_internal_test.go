//go:build linux

package local

import (
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The pause program for this machine's architecture runs, waits for ever
// (a signal without a handler that does not end it is not a concern: as a
// container's PID 1 it only ever gets SIGKILL), and dies of SIGKILL.
func TestPauseProgram(t *testing.T) {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[goruntime.GOARCH]
	pc, ok := pauseCode[arch]
	if !ok {
		t.Skipf("no pause program for %s", goruntime.GOARCH)
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, pauseELF(pc.machine, pc.code), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("pause exited at once: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	_ = cmd.Process.Signal(syscall.SIGCHLD) // wakes pause(2): it must wait again
	select {
	case err := <-done:
		t.Fatalf("pause exited after SIGCHLD: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	_ = cmd.Process.Kill()
	if err := <-done; err == nil {
		t.Error("pause ended without error after SIGKILL")
	}
	if _, err := pauseRootfs("s390x"); err == nil {
		t.Error("an architecture without a pause program was accepted")
	}
}

func TestContainerUser(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		sec       *SecurityPlan
		image     string
		want, err string
	}{
		{nil, "", "", ""},
		{&SecurityPlan{RunAsUser: i(1000)}, "", "1000", ""},
		{&SecurityPlan{RunAsUser: i(1000), RunAsGroup: i(5)}, "", "1000:5", ""},
		{&SecurityPlan{RunAsGroup: i(5)}, "nobody:nogroup", "nobody:5", ""},
		{&SecurityPlan{RunAsGroup: i(5)}, "", "0:5", ""},
		{&SecurityPlan{RunAsNonRoot: true}, "", "", "image will run as root"},
		{&SecurityPlan{RunAsNonRoot: true}, "0", "", "image will run as root"},
		{&SecurityPlan{RunAsNonRoot: true}, "app", "", "non-numeric user (app)"},
		{&SecurityPlan{RunAsNonRoot: true}, "1000:1000", "", ""},
		{&SecurityPlan{RunAsNonRoot: true, RunAsUser: i(0)}, "1000", "", "runAsUser breaks non-root policy"},
		{&SecurityPlan{RunAsNonRoot: true, RunAsUser: i(7)}, "", "7", ""},
	} {
		got, err := containerUser(c.sec, c.image)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("containerUser(%+v, %q) = %q, %v; want %q, %q", c.sec, c.image, got, err, c.want, c.err)
		}
	}
}
