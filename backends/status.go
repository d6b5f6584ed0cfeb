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

// Status is the normalized status of one job, printed by `status -o json`.
type Status struct {
	Name           string `json:"name"`
	Namespace      string `json:"namespace"`
	Backend        string `json:"backend"`
	UID            string `json:"uid,omitempty"`
	Phase          Phase  `json:"phase"`
	Active         int32  `json:"active"`
	Succeeded      int32  `json:"succeeded"`
	Failed         int32  `json:"failed"`
	Completions    int32  `json:"completions"`
	Parallelism    int32  `json:"parallelism"`
	CompletionMode string `json:"completionMode,omitempty"`
	// CompletedIndexes and FailedIndexes are an Indexed job's succeeded and
	// failed indexes in Kubernetes' interval form ("1,3-5").
	CompletedIndexes string     `json:"completedIndexes,omitempty"`
	FailedIndexes    string     `json:"failedIndexes,omitempty"`
	CreationTime     *time.Time `json:"creationTime,omitempty"`
	StartTime        *time.Time `json:"startTime"`
	CompletionTime   *time.Time `json:"completionTime"`
	// NextRetry is when a pod or container held back by a backoff starts,
	// while the job waits for it.
	NextRetry *time.Time        `json:"nextRetry,omitempty"`
	Reason    string            `json:"reason"`
	Message   string            `json:"message"`
	Labels    map[string]string `json:"labels,omitempty"`
	Attempts  []Attempt         `json:"attempts,omitempty"`
	Events    []Event           `json:"events,omitempty"`
}

// Attempt is one run of one pod: a new pod per failure under restartPolicy
// Never, a container restart under OnFailure.
type Attempt struct {
	Pod        string     `json:"pod"`
	Index      *int32     `json:"index,omitempty"`
	Attempt    int32      `json:"attempt"`
	Phase      Phase      `json:"phase"` // Pending, Running, Succeeded, Failed
	ExitCode   *int32     `json:"exitCode,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	StartTime  *time.Time `json:"startTime,omitempty"`
	FinishTime *time.Time `json:"finishTime,omitempty"`
}

// Event is one thing the platform recorded about the job (Kubernetes events,
// Nomad task events).
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Object  string    `json:"object,omitempty"`
	Message string    `json:"message"`
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
