package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/local"
)

// TestTTLZeroWhileRead: a job whose TTL of 0 has passed still gives the
// command reading it everything, whether it followed the job (submit
// --follow: Logs and Watch together) or is the first to look once it ended.
func TestTTLZeroWhileRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b := newBackend(dir)
	ttl0 := "  ttlSecondsAfterFinished: 0\n"

	ref := backends.Ref{Name: "followed"}
	st, err := b.Submit(ctx, job(t, manifest("followed", ttl0, "echo one; sleep 0.2; echo two")))
	if err != nil {
		t.Fatal(err)
	}
	var followed lines
	done := make(chan error, 1)
	go func() { done <- b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &followed) }()
	if final := finish(t, ctx, b, ref); final.Phase != backends.Succeeded {
		t.Errorf("Watch ended with %s", final.Phase)
	}
	if err := <-done; err != nil || strings.Join(followed.got, ",") != "one,two" {
		t.Errorf("Logs -f: %q %v, want one,two", followed.got, err)
	}
	// Watching on reports the finished job once more, then that it is gone.
	var seen []backends.Phase
	err = b.Watch(ctx, ref, func(st *backends.Status) bool { seen = append(seen, st.Phase); return false })
	if !errors.Is(err, backends.ErrNotFound) || !slices.Equal(seen, []backends.Phase{backends.Succeeded}) {
		t.Errorf("Watch past the end: saw %v then %v, want [Succeeded] then not found", seen, err)
	}
	if _, err := os.Stat(local.JobDir(b, st.UID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("logs of the expired job: %v, want removed", err)
	}

	unread := backends.Ref{Name: "unread"}
	st, err = b.Submit(ctx, job(t, manifest("unread", ttl0, "echo three")))
	if err != nil {
		t.Fatal(err)
	}
	local.WaitSupervisor(b, st.UID)
	var l lines
	if err := b.Logs(ctx, unread, backends.LogOptions{}, &l); err != nil || strings.Join(l.got, ",") != "three" {
		t.Errorf("Logs, first to look after the end: %q %v, want three", l.got, err)
	}
	if _, err := b.Status(ctx, unread); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("Status after the logs were read: %v, want not found", err)
	}
}

// TestDeleteMarkedNotLost: once Delete's signal made the supervisor exit,
// the job is gone for whoever looks before Delete removes the record: never
// Failed/SupervisorLost.
func TestDeleteMarkedNotLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	b := newBackend(dir)
	ref := backends.Ref{Name: "deleted", Namespace: "default"}
	if _, err := b.Submit(ctx, job(t, manifest("deleted", "", "sleep 30"))); err != nil {
		t.Fatal(err)
	}
	if err := b.Watch(ctx, ref, func(st *backends.Status) bool { return st.Active > 0 }); err != nil {
		t.Fatal(err)
	}
	var phases []backends.Phase
	watched := make(chan error, 1)
	go func() {
		watched <- b.Watch(ctx, ref, func(st *backends.Status) bool {
			phases = append(phases, st.Phase)
			return st.Phase.Terminal()
		})
	}()
	uid, err := local.MarkDeleting(b, ref)
	if err != nil || uid == "" {
		t.Fatalf("mark: %q %v", uid, err)
	}
	local.WaitSupervisor(b, uid)
	if st, err := b.Status(ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("Status once the supervisor stopped: %+v %v, want not found", st, err)
	}
	if err := <-watched; !errors.Is(err, backends.ErrNotFound) || slices.ContainsFunc(phases, backends.Phase.Terminal) {
		t.Errorf("Watch saw %v then %v, want no terminal phase, then not found", phases, err)
	}
	for _, p := range []string{local.JobDir(b, uid), filepath.Join(dir, "names", "default", "deleted")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want removed", p, err)
		}
	}
	if err := b.Delete(ctx, ref); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("Delete: %v, want not found", err)
	}
}

// TestWatchDuringDelete: a Watch running while Delete stops the job ends
// with not found, never with a status the job did not reach.
func TestWatchDuringDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := newBackend(t.TempDir())
	for i := range 3 {
		ref := backends.Ref{Name: fmt.Sprintf("watched-%d", i)}
		if _, err := b.Submit(ctx, job(t, manifest(ref.Name, "", "sleep 30"))); err != nil {
			t.Fatal(err)
		}
		if err := b.Watch(ctx, ref, func(st *backends.Status) bool { return st.Active > 0 }); err != nil {
			t.Fatal(err)
		}
		var phases []backends.Phase
		watched := make(chan error, 1)
		go func() {
			watched <- b.Watch(ctx, ref, func(st *backends.Status) bool {
				phases = append(phases, st.Phase)
				return st.Phase.Terminal()
			})
		}()
		if err := b.Delete(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if err := <-watched; !errors.Is(err, backends.ErrNotFound) || slices.ContainsFunc(phases, backends.Phase.Terminal) {
			t.Errorf("%s: Watch saw %v then %v, want no terminal phase, then not found", ref.Name, phases, err)
		}
	}
}

// TestEnvWithoutBatchctlSettings: pods inherit the submitter's environment
// but batchctl's own variables, which may hold credentials.
func TestEnvWithoutBatchctlSettings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Setenv("BATCHCTL_NOMAD_TOKEN", "secret")
	t.Setenv("_BATCHCTL_INTERNAL", "x")
	t.Setenv("LOCAL_TEST_INHERITED", "kept")
	b := newBackend(t.TempDir())
	m := strings.Replace(manifest("env", "", "env"), "image: busybox",
		"image: busybox\n        env:\n        - name: BATCHCTL_FROM_MANIFEST\n          value: set", 1)
	ref := backends.Ref{Name: "env"}
	if _, err := b.Submit(ctx, job(t, m)); err != nil {
		t.Fatal(err)
	}
	finish(t, ctx, b, ref)
	var l lines
	if err := b.Logs(ctx, ref, backends.LogOptions{}, &l); err != nil {
		t.Fatal(err)
	}
	for _, kv := range l.got {
		if strings.HasPrefix(kv, "BATCHCTL_NOMAD_TOKEN=") || strings.HasPrefix(kv, "_BATCHCTL_") {
			t.Errorf("the pod inherited %s", kv)
		}
	}
	for _, want := range []string{"LOCAL_TEST_INHERITED=kept", "BATCHCTL_FROM_MANIFEST=set"} {
		if !slices.Contains(l.got, want) {
			t.Errorf("the pod's environment lacks %s", want)
		}
	}
}

// TestBackoffZero: a backoff of 0s retries at once; it is not the default.
func TestBackoffZero(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	b, err := local.Open(local.Options{StateDir: t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Render(job(t, manifest("zero", "", "true")))
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Native.(*local.Plan).Backoff.Initial; d != 0 {
		t.Errorf("backoff %v, want 0", time.Duration(d))
	}
	// At 10s, doubling, the two retries would outlast the context.
	if _, err := b.Submit(ctx, job(t, manifest("zero", "  backoffLimit: 2\n", "exit 1"))); err != nil {
		t.Fatal(err)
	}
	if st := finish(t, ctx, b, backends.Ref{Name: "zero"}); st.Phase != backends.Failed || st.Failed != 3 {
		t.Errorf("%s with %d failed, want Failed with 3", st.Phase, st.Failed)
	}
}
