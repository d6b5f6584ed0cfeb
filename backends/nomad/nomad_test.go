//go:build unix

package nomad_test

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/backendtest"
	"github.com/batchctl/batchctl/backends/nomad"
	"github.com/batchctl/batchctl/e2e/nomadagent"
)

// One -dev agent serves every test of the package that needs one; TestMain
// stops the agents the tests started.
var agents struct {
	sync.Mutex
	started []*nomadagent.Agent
	dirs    []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	agents.Lock()
	for i, a := range agents.started {
		if err := a.Stop(); err != nil {
			println("nomad agent stop:", err.Error())
			code = 1
		} else if err := nomadagent.RemoveAllSafe(agents.dirs[i]); err != nil {
			println(err.Error())
		}
	}
	agents.Unlock()
	os.Exit(code)
}

// startAgent starts a Nomad agent, or skips the test when `make test` did
// not hand over the binary.
func startAgent(t *testing.T, persistent bool) *nomadagent.Agent {
	t.Helper()
	bin := os.Getenv(nomadagent.EnvBinary)
	if bin == "" {
		t.Skip(nomadagent.EnvBinary + " is not set (set by make test, which builds Nomad)")
	}
	if testing.Short() {
		t.Skip("starts a real Nomad agent")
	}
	dir, err := os.MkdirTemp("", "batchctl-nomad-test-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, err := nomadagent.Start(ctx, nomadagent.Options{Binary: bin, WorkDir: dir, Persistent: persistent})
	if err != nil {
		t.Fatalf("start nomad: %v (logs in %s)", err, dir)
	}
	agents.Lock()
	agents.started, agents.dirs = append(agents.started, a), append(agents.dirs, dir)
	agents.Unlock()
	return a
}

// devAgent is the shared -dev agent, started by the first test that needs it.
func devAgent(t *testing.T) *nomadagent.Agent {
	t.Helper()
	devMu.Lock()
	defer devMu.Unlock()
	if dev == nil {
		dev = startAgent(t, false)
	}
	return dev
}

var (
	devMu sync.Mutex
	dev   *nomadagent.Agent
)

// newBackend talks to addr with raw_exec and the shortest retry delays
// (Nomad raises reschedule delays to 5 s).
func newBackend(t *testing.T, addr string) backends.Backend {
	t.Helper()
	b, err := nomad.Open(nomad.Options{Addr: addr, Driver: "raw_exec", Backoff: 10 * time.Millisecond, BackoffCap: 10 * time.Millisecond}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	addr := devAgent(t).Addr
	backendtest.Run(t, backendtest.Options{
		New:           func(t *testing.T) backends.Backend { return newBackend(t, addr) },
		Timeout:       2 * time.Minute,
		HostProcesses: true, // raw_exec runs the jobs on this machine
	})
}
