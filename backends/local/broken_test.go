package local_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
)

// blankUID is the local backend with one promise broken: the statuses it
// reports have no uid.
type blankUID struct{ backends.Backend }

func (b blankUID) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	st, err := b.Backend.Status(ctx, ref)
	if st != nil {
		st.UID = ""
	}
	return st, err
}

// TestConformanceOfBroken is the conformance suite against blankUID; it
// runs only as TestSuiteCatchesABrokenBackend's child, and must fail.
func TestConformanceOfBroken(t *testing.T) {
	if os.Getenv("BATCHCTL_TEST_BROKEN_BACKEND") == "" {
		t.Skip("run by TestSuiteCatchesABrokenBackend")
	}
	backendtest.Run(t, backendtest.Options{
		New:           func(t *testing.T) backends.Backend { return blankUID{newBackend(t.TempDir())} },
		Timeout:       time.Minute,
		HostProcesses: true,
	})
}

// TestSuiteCatchesABrokenBackend: the conformance suite fails a backend
// that leaves a promised field empty, naming the field.
func TestSuiteCatchesABrokenBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a conformance case in a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestConformanceOfBroken$/^Succeeds$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BATCHCTL_TEST_BROKEN_BACKEND=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a backend whose statuses have no uid:\n%s", out)
	}
	if !strings.Contains(string(out), "no uid") {
		t.Errorf("the suite failed, but not naming the missing uid:\n%s", out)
	}
}
