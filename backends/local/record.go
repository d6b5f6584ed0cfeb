package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/backends"
)

// jobRecord is job.json: what was submitted. It never changes.
type jobRecord struct {
	UID       string            `json:"uid"`
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Created   time.Time         `json:"created"`
	Plan      *Plan             `json:"plan"`
	// Manifest is the Job as submitted (overrides applied): the Job
	// controller's semantics are read from it.
	Manifest *batchv1.Job `json:"manifest"`
}

// jobState is state.json: the status the supervisor last wrote. Attempts
// and events live in their own append-only files.
type jobState struct {
	// Generation grows with every write, so watchers notice any change.
	Generation uint64          `json:"generation"`
	Status     backends.Status `json:"status"`
	// Expires is when a finished job with a TTL is to be deleted.
	Expires *time.Time `json:"expires,omitempty"`
	// Pods are the pods that may still have processes, for a command that
	// finds the supervisor gone and must stop them.
	Pods []podRef `json:"pods,omitempty"`
}

// podRef is a pod's processes: the jail that holds them (a cgroup) and,
// where there is none, their process groups.
type podRef struct {
	Name  string    `json:"name"`
	Jail  string    `json:"jail,omitempty"`
	Procs []procRef `json:"procs,omitempty"`
}

type procRef struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // platform start time, 0 when unknown
}

// attemptLine is one line of attempts.jsonl: the attempt of a pod's run.
type attemptLine struct {
	Run     int              `json:"run"`
	Attempt backends.Attempt `json:"attempt"`
	// Containers are the containers started in this run, with the restart
	// count that names their log file.
	Containers []containerRun `json:"containers,omitempty"`
}

type containerRun struct {
	Name    string `json:"name"`
	Restart int32  `json:"restart"`
}

func (s *store) readRecord(uid string) (*jobRecord, error) {
	return readJSON(s.file(uid, jobFile), "record", func(rec *jobRecord) bool {
		return rec.UID == uid && rec.Plan != nil && rec.Manifest != nil
	})
}

// readJSON reads the JSON file at path: a missing file is fs.ErrNotExist
// as it is, anything unreadable, or not complete as complete judges what
// it holds, is corrupt (what names the thing it should have been).
func readJSON[T any](path, what string, complete func(*T) bool) (*T, error) {
	b, err := readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, corrupt(path, err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, corrupt(path, err)
	}
	if !complete(v) {
		return nil, corrupt(path, fmt.Errorf("incomplete %s", what))
	}
	return v, nil
}

// writeJSON replaces the file at path with v as JSON, atomically.
func writeJSON(path string, v any, durable bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(path, b, durable)
}

// readState reads state.json, then the outcome file when the state is not
// final: a supervisor that could not replace state.json at the end (a full
// disk, an immutable file) wrote its outcome there.
func (s *store) readState(uid string) (*jobState, error) {
	st, err := readJSON(s.file(uid, stateFile), "status", func(st *jobState) bool {
		return st.Status.Name != "" && st.Status.Phase != ""
	})
	if err != nil {
		return nil, err
	}
	if !st.Status.Phase.Terminal() {
		if o, ok := s.readOutcome(uid); ok {
			o.apply(st)
		}
	}
	return st, nil
}

func (s *store) writeState(uid string, st *jobState, durable bool) error {
	return writeJSON(s.file(uid, stateFile), st, durable)
}
