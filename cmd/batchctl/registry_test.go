package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/all"
	"github.com/batchctl/batchctl/config"
	"github.com/batchctl/batchctl/jobspec"
)

// A new backend is its package plus one registration line. This test
// registers a throwaway backend — with a setting of its own, an environment
// variable and a flag — and drives the CLI with it: nothing else in the
// tree knows about it.
func TestAThrowawayBackendNeedsOnlyItsRegistration(t *testing.T) {
	reg := all.Registry()
	reg.Register(memoryRegistration) // the one line

	dir := t.TempDir()
	manifest := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: hello}\n"+
		"spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox, command: [\"true\"]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": dir, "XDG_CONFIG_HOME": dir, "BATCHCTL_MEMORY_GREETING": "from-env"}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := runWith(context.Background(), reg, append([]string{"batchctl"}, args...), strings.NewReader(""), &out, &errOut)
		if code != want {
			t.Fatalf("batchctl %s: exit %d, want %d; stderr: %s", strings.Join(args, " "), code, want, errOut.String())
		}
		return out.String()
	}

	// Its setting is layered like any other: env, then its own flag.
	var view struct{ Values []config.Value }
	if err := json.Unmarshal([]byte(cli(0, "config", "view", "-o", "json")), &view); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range view.Values {
		if v.Key == "memory.greeting" {
			found = true
			if v.Value != "from-env" || v.Source != "env BATCHCTL_MEMORY_GREETING" || v.Default != "hello" {
				t.Errorf("config view: %+v", v)
			}
		}
	}
	if !found {
		t.Errorf("config view does not list memory.greeting: %+v", view.Values)
	}
	if help := cli(0, "--help"); !strings.Contains(help, "memory   jobs kept in this process's memory") {
		t.Errorf("--help does not list the backend:\n%s", help)
	}

	// Submit and status go through it, with its flag.
	if out := cli(0, "submit", "--backend", "memory", "--greeting", "from-flag", "-q", manifest); out != "hello\n" {
		t.Errorf("submit -q printed %q", out)
	}
	var st backends.Status
	if err := json.Unmarshal([]byte(cli(0, "status", "--backend", "memory", "hello", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Backend != "memory" || st.Phase != backends.Succeeded || st.Message != "from-flag" {
		t.Errorf("status = %+v", st)
	}
	cli(4, "status", "--backend", "memory", "nosuch")
	// A bad value for its setting is a usage error naming the setting.
	cli(2, "status", "--backend", "memory", "--greeting", "", "--memory-mood", "grumpy", "hello")
}

// memoryRegistration is a complete, if tiny, backend: jobs succeed at once.
var memoryRegistration = backends.Registration{
	Name:  "memory",
	Usage: "jobs kept in this process's memory",
	Settings: []config.Setting{
		{Key: "memory.greeting", Env: "BATCHCTL_MEMORY_GREETING", Default: "hello", Flag: "greeting", Help: "message of every job"},
		{Key: "memory.mood", Env: "BATCHCTL_MEMORY_MOOD", Default: "calm", Flag: "memory-mood", Type: config.Choice, Choices: []string{"calm", "busy"}},
	},
	New: func(v *config.View, _ io.Writer) (backends.Backend, error) {
		return &memoryBackend{greeting: v.String("memory.greeting")}, nil
	},
}

// memoryJobs outlive one CLI invocation, as a platform's would.
var memoryJobs sync.Map

type memoryBackend struct{ greeting string }

func (b *memoryBackend) Info() backends.Info {
	return backends.Info{Name: "memory", DefaultNamespace: "default"}
}

func (b *memoryBackend) Render(job *jobspec.Job) (*backends.Rendering, error) {
	return &backends.Rendering{Native: job.Object}, nil
}

func (b *memoryBackend) Submit(_ context.Context, job *jobspec.Job) (*backends.Status, error) {
	now := time.Now()
	st := &backends.Status{Name: job.Name, Namespace: "default", Backend: "memory", Phase: backends.Succeeded,
		Succeeded: job.Completions, Completions: job.Completions, Parallelism: job.Parallelism,
		StartTime: &now, CompletionTime: &now, Message: b.greeting}
	if _, dup := memoryJobs.LoadOrStore(job.Name, st); dup {
		return nil, &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit", Msg: "exists"}
	}
	return st, nil
}

func (b *memoryBackend) Status(_ context.Context, ref backends.Ref) (*backends.Status, error) {
	if st, ok := memoryJobs.Load(ref.Name); ok {
		return st.(*backends.Status), nil
	}
	return nil, &backends.Error{Kind: backends.ErrNotFound, Op: "status", Ref: ref, Msg: "no such job"}
}

func (b *memoryBackend) Watch(ctx context.Context, ref backends.Ref, fn func(*backends.Status) bool) error {
	st, err := b.Status(ctx, ref)
	if err == nil {
		fn(st)
	}
	return err
}

func (b *memoryBackend) Logs(context.Context, backends.Ref, backends.LogOptions, backends.LogSink) error {
	return nil
}

func (b *memoryBackend) Delete(_ context.Context, ref backends.Ref) error {
	memoryJobs.Delete(ref.Name)
	return nil
}

func (b *memoryBackend) List(context.Context, backends.ListOptions) ([]*backends.Status, error) {
	return nil, nil
}

func (b *memoryBackend) Close() error { return nil }
