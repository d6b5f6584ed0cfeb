// Package local runs Jobs on this machine with the Kubernetes Job
// controller's semantics, decided by its state machine
// (backends/jobcontroller): completions and parallelism, Indexed jobs,
// restart policies and backoffs, pod failure and success policies, per-index
// backoff limits, deadlines, suspension and TTLs.
//
// Each submitted job gets a detached supervisor process (this executable,
// re-executed; see MaybeSupervise) that outlives the submitting command and
// runs the job's pods through a runtime (processes here: exec). State is one
// directory per job under the state directory (see store.go): no lock is
// shared between jobs. The supervisor holds the job's lock file for its
// whole life; a job left unfinished with its supervisor gone is reported
// Failed with reason SupervisorLost.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

var (
	_ backends.Backend   = (*backend)(nil)
	_ backends.Describer = (*backend)(nil)
	_ backends.Suspender = (*backend)(nil)
)

type backend struct {
	st         *store
	namespace  string
	backoff    time.Duration
	backoffCap time.Duration
	hiddenEnv  []string
	stderr     io.Writer
	// runtime runs the pods (RuntimeExec, RuntimeDocker); dockerHost and
	// allowHostPath are RuntimeDocker's.
	runtime       string
	dockerHost    string
	allowHostPath bool
}

// Open builds the local backend. It touches nothing on disk: the state
// directory is created by the first operation that needs it.
func Open(o Options, stderr io.Writer) (backends.Backend, error) {
	dir := o.StateDir
	if dir == "" {
		return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: "local", Msg: "no state directory: set local.state-dir, XDG_STATE_HOME or HOME"}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if stderr == nil {
		stderr = io.Discard
	}
	b := &backend{
		st:         &store{dir: dir},
		namespace:  o.Namespace,
		backoff:    max(o.Backoff, 0),
		backoffCap: o.BackoffCap,
		hiddenEnv:  o.HiddenEnv,
		stderr:     stderr,

		runtime:       o.Runtime,
		dockerHost:    o.DockerHost,
		allowHostPath: o.AllowHostPath,
	}
	switch b.runtime {
	case "":
		b.runtime = RuntimeExec
	case RuntimeExec, RuntimeDocker:
	default:
		return nil, &backends.Error{Kind: backends.ErrInvalid, Op: "local", Msg: fmt.Sprintf("local.runtime %q: want %s or %s", o.Runtime, RuntimeExec, RuntimeDocker)}
	}
	if b.namespace == "" {
		b.namespace = jobspec.DefaultNamespace
	}
	if b.backoffCap <= 0 {
		b.backoffCap = defaultBackoffCap
	}
	b.backoffCap = max(b.backoffCap, b.backoff)
	return b, nil
}

func (b *backend) Info() backends.Info {
	return backends.Info{
		Name:             "local",
		DefaultNamespace: b.namespace,
		Capabilities: backends.Capabilities{
			Parallelism:    true,
			RestartInPlace: true,
			Indexed:        true,
			Deadline:       true,
			TTL:            true,
			Suspend:        true,
			AttemptLogs:    true,
			LogTimes:       true,

			CronJobs: true, CronForbid: true, CronReplace: true, CronHistory: true,
		},
	}
}

// Close has nothing to release: no file is held open between calls.
func (b *backend) Close() error { return nil }

func (b *backend) ref(ref backends.Ref) backends.Ref {
	if ref.Namespace == "" {
		ref.Namespace = b.namespace
	}
	return ref
}

func notFound(op string, ref backends.Ref) error {
	return &backends.Error{Kind: backends.ErrNotFound, Op: op, Ref: ref, Msg: "job not found"}
}

// load finds job ref and reads its state, settled (see settle.go). uid is
// "" when there is no such job.
func (b *backend) load(ref backends.Ref) (uid string, st *jobState, err error) {
	uid, err = b.st.lookup(ref.Namespace, ref.Name)
	if err != nil || uid == "" {
		return "", nil, err
	}
	st, err = b.loadUID(uid)
	if st == nil {
		uid = ""
	}
	return uid, st, err
}

// loadHeld is load with the job held against TTL sweeps (see hold) from
// before its state is read, so a reader sees a finished job once even when
// its TTL has passed.
func (b *backend) loadHeld(ref backends.Ref) (uid string, st *jobState, release func(), err error) {
	release = func() {}
	uid, err = b.st.lookup(ref.Namespace, ref.Name)
	if err != nil || uid == "" {
		return "", nil, release, err
	}
	release = b.st.hold(uid)
	st, err = b.loadUID(uid)
	if st == nil {
		uid = ""
	}
	return uid, st, release, err
}

// loadUID reads job uid's state, settled; nil when it is gone.
func (b *backend) loadUID(uid string) (*jobState, error) {
	st, err := b.st.readState(uid)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // deleted meanwhile, or a claim left by an interrupted delete
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if b.st.settle(uid, st, now) {
		return nil, nil
	}
	if st.Expires != nil && !now.Before(*st.Expires) && b.st.expire(uid) {
		return nil, nil
	}
	return st, nil
}

func (b *backend) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	ref = b.ref(ref)
	_, st, err := b.load(ref)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, notFound("status", ref)
	}
	return &st.Status, nil
}

// Describe adds every attempt and event to the status.
func (b *backend) Describe(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	ref = b.ref(ref)
	uid, st, err := b.load(ref)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, notFound("describe", ref)
	}
	out := st.Status
	out.Attempts = attemptsOf(b.st.readAttempts(uid))
	out.Events = b.st.readEvents(uid)
	return &out, nil
}

// attemptsOf orders attempts by index, then attempt number.
func attemptsOf(lines []attemptLine) []backends.Attempt {
	out := make([]backends.Attempt, len(lines))
	for i, l := range lines {
		out[i] = l.Attempt
	}
	sort.SliceStable(out, func(i, j int) bool {
		ii, ij := int32(-1), int32(-1)
		if out[i].Index != nil {
			ii = *out[i].Index
		}
		if out[j].Index != nil {
			ij = *out[j].Index
		}
		if ii != ij {
			return ii < ij
		}
		return out[i].Attempt < out[j].Attempt
	})
	return out
}

func (b *backend) List(ctx context.Context, opts backends.ListOptions) ([]*backends.Status, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = b.namespace
	}
	if opts.AllNamespaces {
		ns = ""
	}
	b.st.sweep(time.Now())
	claims, err := b.st.claims(ns)
	if err != nil {
		return nil, err
	}
	var out []*backends.Status
	for _, c := range claims {
		_, st, err := b.load(backends.Ref{Name: c.name, Namespace: c.namespace})
		if err != nil {
			// One unreadable job is that job's problem, not every job's.
			fmt.Fprintf(b.stderr, "local: warning: job %s/%s: %v\n", c.namespace, c.name, err)
			continue
		}
		if st != nil && backends.Matches(opts.Selector, st.Status.Labels) {
			s := st.Status
			out = append(out, &s)
		}
	}
	return out, nil
}
