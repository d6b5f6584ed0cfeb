// Package local runs Jobs as processes on this machine with the Kubernetes
// Job controller's semantics: completions and parallelism, Indexed jobs,
// restartPolicy Never (new pod per failure) and OnFailure (restart in
// place), backoff delays and backoffLimit, activeDeadlineSeconds and
// ttlSecondsAfterFinished.
//
// Each submitted job gets a detached supervisor process (this executable,
// re-executed; see MaybeSupervise) that outlives the submitting command. State
// is kept in a bbolt database under the state directory, opened briefly per
// operation so several batchctl processes can share it. The supervisor holds
// a file lock for its whole life; a job left unfinished with its lock free
// was abandoned and is reported Failed with reason SupervisorLost.
package local

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

var _ backends.Backend = (*backend)(nil)

type backend struct {
	st         *store
	namespace  string
	backoff    time.Duration
	backoffCap time.Duration
	hiddenEnv  []string
	stderr     io.Writer
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
	b := &backend{
		st:         &store{dir: dir},
		namespace:  o.Namespace,
		backoff:    max(o.Backoff, 0),
		backoffCap: o.BackoffCap,
		hiddenEnv:  o.HiddenEnv,
		stderr:     stderr,
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
			Suspend:        false,
			AttemptLogs:    true,
			Namespaces:     true,
		},
	}
}

// Close has nothing to release: the database is never held open.
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

func (b *backend) Status(ctx context.Context, ref backends.Ref) (*backends.Status, error) {
	ref = b.ref(ref)
	rec, atts, err := b.load(ref, "", 0)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, notFound("status", ref)
	}
	return toStatus(rec, atts), nil
}

// toStatus normalizes a record; Attempts are cheap here, so always included.
func toStatus(rec *jobRecord, atts []*attemptRecord) *backends.Status {
	st := &backends.Status{
		Name:           rec.Name,
		Namespace:      rec.Namespace,
		Backend:        "local",
		UID:            rec.UID,
		Phase:          rec.State.Phase,
		Active:         rec.State.Active,
		Succeeded:      rec.State.Succeeded,
		Failed:         rec.State.Failed,
		Completions:    rec.Plan.Completions,
		Parallelism:    rec.Plan.Parallelism,
		CompletionMode: rec.Plan.CompletionMode,
		StartTime:      rec.State.StartTime,
		CompletionTime: rec.State.FinishTime, // Succeeded or Failed
		Reason:         rec.State.Reason,
		Message:        rec.State.Message,
		Labels:         rec.Labels,
	}
	created := rec.Created
	st.CreationTime = &created
	var done []int32
	for _, a := range atts {
		if a.Index != nil && a.Phase == string(backends.Succeeded) {
			done = append(done, *a.Index)
		}
		st.Attempts = append(st.Attempts, backends.Attempt{
			Pod:        a.Pod,
			Index:      a.Index,
			Attempt:    a.Attempt,
			Phase:      backends.Phase(a.Phase),
			ExitCode:   a.ExitCode,
			Reason:     a.Reason,
			StartTime:  a.StartTime,
			FinishTime: a.FinishTime,
		})
	}
	st.CompletedIndexes = backends.FormatIndexes(done)
	return st
}
