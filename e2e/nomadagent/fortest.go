//go:build unix

package nomadagent

import (
	"context"
	"os"
	"testing"
	"time"
)

// ForTest starts an agent of its own for t, configured by opts (Binary and
// WorkDir are filled in: the binary EnvBinary names, a fresh directory), and
// stops it when t ends, removing the directory only if Stop left nothing
// mounted under it. It skips t when EnvBinary is unset or in -short mode.
func ForTest(t testing.TB, opts Options) *Agent {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		t.Skip(EnvBinary + " is not set (set by make test, which builds Nomad)")
	}
	if testing.Short() {
		t.Skip("starts a real Nomad agent")
	}
	// Not t.TempDir: the agent mounts under its data dir, which only
	// RemoveAllSafe removes safely.
	dir, err := os.MkdirTemp("", "batchctl-nomad-")
	if err != nil {
		t.Fatal(err)
	}
	opts.Binary, opts.WorkDir = bin, dir
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start nomad: %v (logs in %s)", err, dir)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stop nomad: %v (logs in %s)", err, dir)
			return
		}
		if err := RemoveAllSafe(dir); err != nil {
			t.Error(err)
		}
	})
	return a
}
