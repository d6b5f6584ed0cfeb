// Package backends defines the contract every batchctl backend implements,
// the normalized status they all report, and the registry that names them.
//
// A backend runs one portable jobspec.Job on some platform (this machine,
// Kubernetes, Nomad) and reports it in the same shape everywhere, so the CLI
// above it never branches on the backend.
package backends

import (
	"context"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/batchctl/batchctl/jobspec"
)

// Backend runs Jobs on one platform. Methods are safe for concurrent use.
// Every error a method returns is classified by the kinds in errors.go
// (errors.Is(err, ErrNotFound) and so on); an unclassified error counts as a
// backend failure.
type Backend interface {
	// Info describes the backend and what it can honour. It makes no call.
	Info() Info

	// Render translates job into the native object Submit would send, without
	// side effects, and reports every field the backend emulates, approximates
	// or cannot honour. It fails only when the job cannot run here at all
	// (ErrInvalid).
	Render(job *jobspec.Job) (*Rendering, error)

	// Submit creates the job and starts it; it returns once the platform has
	// accepted it, not when it finishes. The returned Status carries the final
	// name (generateName resolved). A job of the same name in the same
	// namespace is ErrAlreadyExists; a spec the platform rejects is ErrInvalid
	// with the platform's message.
	Submit(ctx context.Context, job *jobspec.Job) (*Status, error)

	// Status reports the job's current normalized status. It costs O(1)
	// platform requests whatever the number of pods; Attempts may be left
	// empty when listing them is not O(1) (see Describer). ErrNotFound when
	// there is no such job.
	Status(ctx context.Context, ref Ref) (*Status, error)

	// Watch calls fn with the current status, then again after every change,
	// until fn returns true, ctx ends (ctx.Err()), or the job disappears
	// (ErrNotFound). It survives dropped connections to the platform without
	// missing a terminal state. It does not change the job, except to enforce
	// an outcome the platform would not reach by itself (nomad stops a job
	// whose podFailurePolicy failed it; its fidelity report says so).
	Watch(ctx context.Context, ref Ref, fn func(*Status) (done bool)) error

	// Logs writes the output of every attempt of every pod, finished or
	// running, to sink, one call per line. With opts.Follow it keeps picking
	// up new attempts and returns once the job is finished and every stream is
	// drained, or when ctx ends.
	Logs(ctx context.Context, ref Ref, opts LogOptions, sink LogSink) error

	// Delete removes the job, stopping whatever still runs. Its logs go with
	// it. ErrNotFound when there is no such job.
	Delete(ctx context.Context, ref Ref) error

	// List reports the jobs batchctl manages in opts.Namespace (every
	// namespace when AllNamespaces) whose labels match opts.Selector, sorted by
	// namespace then name.
	List(ctx context.Context, opts ListOptions) ([]*Status, error)

	// Close releases connections and files. The jobs keep running.
	Close() error
}

// Describer is implemented by backends whose Status leaves out per-attempt
// detail for cost: Describe returns the status with Attempts and Events filled.
type Describer interface {
	Describe(ctx context.Context, ref Ref) (*Status, error)
}

// Suspender is implemented by backends that can suspend a job (spec.suspend)
// and resume it. Suspend stops the job's pods without counting them as
// failures and reports phase Pending, reason Suspended; Resume starts pods
// again (the job's deadline clock restarts, as in Kubernetes). Both are
// no-ops on a job already in that state and ErrInvalid on a finished one.
type Suspender interface {
	Suspend(ctx context.Context, ref Ref) error
	Resume(ctx context.Context, ref Ref) error
}

// ListWatcher is implemented by backends that can follow many jobs at the
// cost of one: WatchList calls fn with every job List would report, sorted
// the same way, then again after every change, until fn returns true or
// ctx ends. It survives dropped connections as Watch does. `wait` of many
// jobs and `list -w` use it; without it the CLI polls List.
type ListWatcher interface {
	WatchList(ctx context.Context, opts ListOptions, fn func([]*Status) (done bool)) error
}

// DryRunner is implemented by backends whose server can check a job
// without creating it (submit --dry-run=server): the API server's dry run,
// Nomad's plan, the local runtime's own checks. DryRun returns the errors
// Submit would (ErrAlreadyExists, ErrInvalid, …) and otherwise what would
// be created; nothing is created, and nothing is left behind.
type DryRunner interface {
	DryRun(ctx context.Context, job *jobspec.Job) (*DryRun, error)
}

// DryRun is what a server said of a job it was asked to check.
type DryRun struct {
	// Status is the job as Submit would report it just created.
	Status *Status
	// Native is the object the server would create, completed by it
	// (defaults, a generated name); nil when it says nothing more than
	// Render does.
	Native any
	// Warnings are what the server foresees going wrong that does not
	// refuse the job: a placement that would fail, a command not found.
	Warnings []string
}

// Doctor is implemented by backends that keep state of their own: Doctor
// reports on w what is wrong with it (unreadable or half-written records,
// leftovers) and, with repair, fixes what it can without losing a readable
// job. It returns how many problems remain.
type Doctor interface {
	Doctor(ctx context.Context, repair bool, w io.Writer) (problems int, err error)
}

// Ref names one job.
type Ref struct {
	Name      string
	Namespace string // empty: the backend's default namespace
}

// Info is what a backend is and can do, as data: the CLI and the conformance
// suite read it instead of probing.
type Info struct {
	Name             string
	DefaultNamespace string
	// NativeFormat is how the platform's own tools read Render's object:
	// "yaml" (kubectl) or "json" (nomad job run -json). Default yaml.
	NativeFormat string
	Capabilities Capabilities
}

// Capabilities say which Job semantics a backend honours. A false value is a
// declared gap: the conformance suite skips the matching case and says why,
// and Render names the field in its fidelity report.
type Capabilities struct {
	// Native: the platform is Kubernetes itself, so every field of the
	// manifest is honoured as written and Render reports nothing.
	Native bool
	// Parallelism: no more than spec.parallelism pods run at once.
	Parallelism bool
	// RestartInPlace: restartPolicy OnFailure restarts the container in the
	// same pod, counting restarts against backoffLimit.
	RestartInPlace bool
	// Indexed: completionMode Indexed with JOB_COMPLETION_INDEX.
	Indexed bool
	// Deadline: activeDeadlineSeconds ends the job with DeadlineExceeded.
	Deadline bool
	// TTL: ttlSecondsAfterFinished removes the finished job.
	TTL bool
	// Suspend: spec.suspend is honoured at submit, and the backend is a
	// Suspender.
	Suspend bool
	// AttemptLogs: logs of failed attempts stay readable.
	AttemptLogs bool
	// LogTimes: the backend knows when each log line was written: Logs
	// fills LogSource.At when LogOptions.Times asks, and honours Since.
	LogTimes bool

	// CronJobs: the backend is a Scheduler: CronJobs with their schedule,
	// timeZone, suspend and trigger (concurrencyPolicy Allow).
	CronJobs bool
	// CronForbid: concurrencyPolicy Forbid skips a run while a Job the
	// schedule started is active.
	CronForbid bool
	// CronReplace: concurrencyPolicy Replace deletes the active Job and
	// starts the new one.
	CronReplace bool
	// CronHistory: finished Jobs beyond the history limits are deleted.
	CronHistory bool
}

// ManagedByLabel marks the jobs batchctl created; List selects on it.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "batchctl"
)

// Rendering is what Render returns.
type Rendering struct {
	// Native is the object the backend would send, ready to marshal as JSON
	// or YAML (a *batchv1.Job for k8s, a Nomad job for nomad).
	Native any
	// Fidelity lists what is not honoured natively, in field order.
	Fidelity []Fidelity
}

// FidelityLevel grades how a field is honoured.
type FidelityLevel string

const (
	// Note: informational, e.g. the local backend does not pull images.
	Note FidelityLevel = "note"
	// Emulated: batchctl itself provides the semantics soundly.
	Emulated FidelityLevel = "emulated"
	// Approximated: honoured in part; --strict refuses.
	Approximated FidelityLevel = "approximated"
	// Unsupported: not honoured at all; --strict refuses.
	Unsupported FidelityLevel = "unsupported"
)

// Fidelity is one entry of a backend's fidelity report. The message says
// what happens instead.
type Fidelity struct {
	Field   string        `json:"field"`
	Level   FidelityLevel `json:"level"`
	Message string        `json:"message"`
	// Outcome: what happens instead can change the job's outcome (success
	// against failure, or the reason) from what Kubernetes would report.
	// Such a job is refused unless the user allows approximations
	// (--allow-approximate); entries that change only timing or placement
	// are warnings.
	Outcome bool `json:"outcome,omitempty"`
}

// Refused reports whether --strict refuses a job with this entry.
func (f Fidelity) Refused() bool { return f.Level == Approximated || f.Level == Unsupported }

// LogOptions select what Logs writes.
type LogOptions struct {
	Follow    bool
	Index     *int32 // only this completion index
	Container string // only this container; empty: all
	// Since skips lines written before it; Times fills LogSource.At.
	// Both need Capabilities.LogTimes: without it, Logs refuses them
	// (ErrInvalid), saying why the platform cannot.
	Since time.Time
	Times bool
}

// LogSource says where a line came from.
type LogSource struct {
	Job       string // set by callers that read several jobs' logs; backends leave it
	Pod       string // pod, allocation or local attempt name
	Index     *int32 // completion index, when known
	Attempt   int32  // 0 for the first run, +1 per retry of that index
	Container string
	// At is when the line was written (LogOptions.Times), in UTC.
	At time.Time
}

// LogSink receives log lines without their trailing newline. Calls for one
// source come in order; sources may interleave.
type LogSink interface {
	Line(src LogSource, line string)
}

// PartSink is a LogSink that takes a line in pieces: Part carries a piece
// of a line that the next Part or Line call for the same source continues,
// so that the pieces joined are the line, byte for byte. Backends hold at
// most a bounded part of a line (1 MiB) and pass longer ones on in pieces;
// a sink without Part gets every piece as a line of its own.
type PartSink interface {
	LogSink
	Part(src LogSource, piece string)
}

// ListOptions select the jobs List reports.
type ListOptions struct {
	Namespace     string // "" : the backend's default namespace
	AllNamespaces bool
	// Selector is a Kubernetes label selector (ParseSelector); nil selects
	// everything.
	Selector labels.Selector
}
