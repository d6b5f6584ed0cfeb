package local

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// TestSettleChecksUID: a job found abandoned is settled only if the record
// is still that job, not one submitted again under its name meanwhile.
func TestSettleChecksUID(t *testing.T) {
	st := &store{dir: t.TempDir()}
	now := time.Now()
	cur := &jobRecord{UID: "new", Namespace: "default", Name: "j", Plan: &Plan{}, Created: now, State: jobState{Phase: backends.Running, Generation: 1}}
	if err := st.update(func(tx *bolt.Tx) error { return putJob(tx, cur) }); err != nil {
		t.Fatal(err)
	}
	get := func() *jobRecord {
		var rec *jobRecord
		if err := st.view(func(tx *bolt.Tx) (err error) { rec, err = getJob(tx, "default", "j"); return err }); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	for _, uid := range []string{"old", "new"} {
		found := &jobRecord{UID: uid, Namespace: "default", Name: "j"}
		if err := st.update(func(tx *bolt.Tx) error { _, err := st.settle(tx, []*jobRecord{found}, now); return err }); err != nil {
			t.Fatal(err)
		}
		got := get()
		if lost := got.State.Reason == backends.ReasonSupervisorLost; lost != (uid == "new") {
			t.Errorf("settling %s: job %s is %s/%s", uid, got.UID, got.State.Phase, got.State.Reason)
		}
	}
}

// TestPollDecodesAttemptsOnChange: a poller that has seen a generation gets
// the job record alone until it moves.
func TestPollDecodesAttemptsOnChange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bb, err := Open(Options{StateDir: t.TempDir(), Backoff: time.Millisecond}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := bb.(*backend)
	ref := backends.Ref{Name: "poll", Namespace: "default"}
	j, err := jobspec.Parse("poll.yaml", strings.NewReader(`apiVersion: batch/v1
kind: Job
metadata:
  name: poll
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["true"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Submit(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := b.Watch(ctx, ref, func(st *backends.Status) bool { return st.Phase.Terminal() }); err != nil {
		t.Fatal(err)
	}
	rec, atts, err := b.load(ref, "", 0)
	if err != nil || len(atts) != 1 {
		t.Fatalf("first look: %d attempts, %v", len(atts), err)
	}
	if _, atts, _ := b.load(ref, rec.UID, rec.State.Generation); atts != nil {
		t.Errorf("same generation: %d attempts decoded, want none", len(atts))
	}
	if _, atts, _ := b.load(ref, rec.UID, rec.State.Generation-1); len(atts) != 1 {
		t.Errorf("older generation: %d attempts, want 1", len(atts))
	}
}
