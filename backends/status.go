package backends

import (
	"sort"
	"time"
)

// Phase is the one-word state of a job, the same on every backend.
type Phase string

const (
	Pending   Phase = "Pending"   // accepted, nothing running yet (or suspended)
	Running   Phase = "Running"   // at least one pod active or the job is retrying
	Succeeded Phase = "Succeeded" // completions reached
	Failed    Phase = "Failed"    // backoff limit, deadline, or lost; see Reason
)

// Terminal reports whether the phase can no longer change.
func (p Phase) Terminal() bool { return p == Succeeded || p == Failed }

// Reasons for a Failed phase, shared by every backend (Kubernetes' own words
// where it has them).
const (
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonSuspended            = "Suspended"
	// ReasonSupervisorLost: the process running a local job died before the
	// job finished; its pods were stopped and its logs kept.
	ReasonSupervisorLost = "SupervisorLost"
)

// Status is the normalized status of one job, the same on every backend:
// what `status`, `list` and `describe` print with -o json (docs/output.md
// is generated from these comments; a test keeps the two in step).
type Status struct {
	// Name is the job's name (generateName resolved).
	Name string `json:"name"`
	// Namespace is the job's namespace (Kubernetes namespace, Nomad namespace, or the local backend's own).
	Namespace string `json:"namespace"`
	// Backend is the backend that runs the job: local, k8s or nomad.
	Backend string `json:"backend"`
	// UID identifies this incarnation of the job: a job deleted and submitted again under the same name has another.
	UID string `json:"uid,omitempty"`
	// Phase is Pending (nothing running yet, or suspended), Running, Succeeded or Failed; the last two are final.
	Phase Phase `json:"phase"`
	// Active is the number of pods running (or starting) now.
	Active int32 `json:"active"`
	// Succeeded is the number of pods that succeeded.
	Succeeded int32 `json:"succeeded"`
	// Failed is the number of pods that failed, as the Job controller counts them (pods it stops when the job fails count).
	Failed int32 `json:"failed"`
	// Completions is spec.completions: successful pods the job needs (1 when unset).
	Completions int32 `json:"completions"`
	// Parallelism is spec.parallelism: pods allowed to run at once.
	Parallelism int32 `json:"parallelism"`
	// CompletionMode is NonIndexed or Indexed.
	CompletionMode string `json:"completionMode,omitempty"`
	// CompletedIndexes are an Indexed job's succeeded indexes in Kubernetes' interval form ("0,2-5"); absent when none.
	CompletedIndexes string `json:"completedIndexes,omitempty"`
	// FailedIndexes are the indexes that failed for good (backoffLimitPerIndex), in the same form; absent when none.
	FailedIndexes string `json:"failedIndexes,omitempty"`
	// CreationTime is when the job was submitted.
	CreationTime *time.Time `json:"creationTime,omitempty"`
	// StartTime is when the job started (reset when a suspended job resumes, as in Kubernetes); null before.
	StartTime *time.Time `json:"startTime"`
	// CompletionTime is when the job finished, succeeded or failed; null until then.
	CompletionTime *time.Time `json:"completionTime"`
	// NextRetry is when a pod or container held back by a backoff will start, while the job waits for it.
	NextRetry *time.Time `json:"nextRetry,omitempty"`
	// Reason says why a job failed (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, FailedIndexes, MaxFailedIndexesExceeded, SupervisorLost, …) or that it is Suspended; empty on success.
	Reason string `json:"reason"`
	// Message explains Reason in words.
	Message string `json:"message"`
	// Labels are the job's labels, with app.kubernetes.io/managed-by=batchctl.
	Labels map[string]string `json:"labels,omitempty"`
	// Attempts are every run of every pod (describe, and status where cheap), by index then attempt.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Events are what the platform recorded about the job and its pods (describe), oldest first.
	Events []Event `json:"events,omitempty"`
}

// Attempt is one run of one pod: a new pod per failure under restartPolicy
// Never, a container restart under OnFailure.
type Attempt struct {
	// Pod is the pod's name (a Nomad allocation's on nomad).
	Pod string `json:"pod"`
	// Index is the completion index of an Indexed job's pod; absent for NonIndexed jobs.
	Index *int32 `json:"index,omitempty"`
	// Attempt counts from 0: earlier failed pods of the same index, plus in-place restarts.
	Attempt int32 `json:"attempt"`
	// Phase is Pending, Running, Succeeded or Failed.
	Phase Phase `json:"phase"`
	// ExitCode is the container's exit code (128+signal when killed); absent while it runs.
	ExitCode *int32 `json:"exitCode,omitempty"`
	// Reason is the Kubernetes reason of the run's end: Completed, Error, OOMKilled, DeadlineExceeded, StartError, ErrImagePull, …
	Reason string `json:"reason,omitempty"`
	// StartTime is when the run started.
	StartTime *time.Time `json:"startTime,omitempty"`
	// FinishTime is when the run ended.
	FinishTime *time.Time `json:"finishTime,omitempty"`
}

// Event is one thing the platform recorded about the job (Kubernetes events,
// Nomad task events, the local Job controller's decisions).
type Event struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Type is Normal or Warning.
	Type string `json:"type"`
	// Reason is a one-word cause, as Kubernetes words it (SuccessfulCreate, BackoffLimitExceeded, …).
	Reason string `json:"reason"`
	// Object is what it happened to: Job/NAME or Pod/NAME.
	Object string `json:"object,omitempty"`
	// Message says what happened.
	Message string `json:"message"`
}

// SortStatuses orders jobs as List reports them: by namespace, then name.
func SortStatuses(sts []*Status) {
	sort.Slice(sts, func(i, j int) bool {
		if sts[i].Namespace != sts[j].Namespace {
			return sts[i].Namespace < sts[j].Namespace
		}
		return sts[i].Name < sts[j].Name
	})
}
