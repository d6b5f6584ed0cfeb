package local

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
)

func testJobState(t *testing.T, st *store, uid string, phase backends.Phase) *jobState {
	t.Helper()
	if err := os.MkdirAll(st.jobDir(uid), 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := &jobState{Generation: 3, Status: backends.Status{Name: "j", Namespace: "default", Backend: "local", UID: uid, Phase: phase, Active: 2, CreationTime: &now}}
	if err := st.writeState(uid, s, false); err != nil {
		t.Fatal(err)
	}
	return s
}

// A supervisor that could not replace state.json at the end wrote its
// outcome into the preallocated file; readers take it over the stale state.
func TestOutcomeFileWins(t *testing.T) {
	st := &store{dir: t.TempDir()}
	const uid = "u1"
	testJobState(t, st, uid, backends.Running)
	if err := st.preallocateOutcome(uid); err != nil {
		t.Fatal(err)
	}
	if got, err := st.readState(uid); err != nil || got.Status.Phase != backends.Running {
		t.Fatalf("an empty outcome file must not count: %+v %v", got, err)
	}
	end := time.Now()
	o := outcome{Phase: backends.Succeeded, Succeeded: 3, CompletionTime: &end, CompletedIndexes: ptr("0-2")}
	if err := st.writeOutcome(uid, o); err != nil {
		t.Fatal(err)
	}
	got, err := st.readState(uid)
	if err != nil || got.Status.Phase != backends.Succeeded || got.Status.Succeeded != 3 || got.Status.Active != 0 || got.Status.CompletedIndexes != "0-2" {
		t.Fatalf("with an outcome: %+v %v", got, err)
	}
	// A torn write fails the checksum and is ignored.
	f, _ := os.OpenFile(st.file(uid, outcomeFile), os.O_WRONLY, 0)
	f.WriteAt([]byte("X"), int64(outcomeHead+3))
	f.Close()
	if got, _ := st.readState(uid); got.Status.Phase != backends.Running {
		t.Errorf("a corrupt outcome was taken: %s", got.Status.Phase)
	}
	// A long message is cut to fit, never lost whole.
	o.Message = string(make([]byte, 3*outcomeSize))
	if len(o.encode()) != outcomeSize {
		t.Error("encode exceeds the preallocated size")
	}
}

func ptr[T any](v T) *T { return &v }

// Names are claimed atomically: of many concurrent claims one wins; a
// claim whose job directory is gone (an interrupted delete) is taken over.
func TestClaims(t *testing.T) {
	st := &store{dir: t.TempDir()}
	if err := st.init(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wins := make(chan string, 50)
	for i := range 50 {
		uid := fmt.Sprintf("uid-%d", i)
		if err := os.MkdirAll(st.jobDir(uid), 0o700); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st.claim("default", "same", uid) == nil {
				wins <- uid
			}
		}()
	}
	wg.Wait()
	close(wins)
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d claims won, want exactly 1: %v", len(won), won)
	}
	if cur, _ := st.lookup("default", "same"); cur != won[0] {
		t.Errorf("lookup = %q, want the winner %q", cur, won[0])
	}
	os.RemoveAll(st.jobDir(won[0]))
	if err := st.claim("default", "same", "uid-7"); err != nil {
		t.Errorf("a stale claim was not taken over: %v", err)
	}
	if got, err := st.lookup("default", "../../etc"); got != "" || err != nil {
		t.Errorf("lookup of a path outside the state directory: %q %v", got, err)
	}
}

// Liveness does not rest on the lock file: with it deleted, the recorded
// supervisor (pid and start time) still counts as alive while it runs. (The
// test has no lock file at all.)
func TestLivenessWithoutLockFile(t *testing.T) {
	if !procStartTimeKnowable {
		t.Skip("no process start times here")
	}
	st := &store{dir: t.TempDir()}
	const uid = "u2"
	s := testJobState(t, st, uid, backends.Running)
	start, ok := procStartTime(os.Getpid())
	if !ok {
		t.Skip("cannot read this process's start time")
	}
	pidLine := fmt.Sprintf("%d %d\n", os.Getpid(), start)
	if err := os.WriteFile(st.file(uid, pidFile), []byte(pidLine), 0o600); err != nil {
		t.Fatal(err)
	}
	if !st.supervisorAlive(uid, s) {
		t.Error("a running supervisor without its lock file was declared dead")
	}
	if err := os.WriteFile(st.file(uid, pidFile), []byte(fmt.Sprintf("%d %d\n", os.Getpid(), start+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if st.supervisorAlive(uid, s) {
		t.Error("a reused pid (another start time) was taken for the supervisor")
	}
}
