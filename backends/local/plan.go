package local

import (
	"encoding/json"
	"time"
)

// Plan is the local backend's native object: exactly what the supervisor
// runs. Render returns it and Submit stores it with the job.
type Plan struct {
	Kind                    string            `json:"kind"` // always "LocalJob"
	Namespace               string            `json:"namespace"`
	Name                    string            `json:"name,omitempty"`
	GenerateName            string            `json:"generateName,omitempty"`
	Labels                  map[string]string `json:"labels,omitempty"`
	Completions             int32             `json:"completions"`
	Parallelism             int32             `json:"parallelism"`
	CompletionMode          string            `json:"completionMode"`
	RestartPolicy           string            `json:"restartPolicy"`
	BackoffLimit            int32             `json:"backoffLimit"`
	Backoff                 Backoff           `json:"backoff"`
	ActiveDeadlineSeconds   *int64            `json:"activeDeadlineSeconds,omitempty"`
	TTLSecondsAfterFinished *int32            `json:"ttlSecondsAfterFinished,omitempty"`
	// InitContainers run one after the other, then Containers together, as
	// one pod; each container is a process group on this machine.
	InitContainers []ContainerPlan `json:"initContainers,omitempty"`
	Containers     []ContainerPlan `json:"containers"`
}

// Backoff is the delay before a failed pod is replaced (Never) or its
// container restarted (OnFailure): Initial·2^(failures−1), at most Cap.
type Backoff struct {
	Initial Duration `json:"initial"`
	Cap     Duration `json:"cap"`
}

// delay is the wait after the n-th consecutive failure (n ≥ 1).
func (b Backoff) delay(n int) time.Duration {
	d := time.Duration(b.Initial)
	for i := 1; i < n && d < time.Duration(b.Cap); i++ {
		d *= 2
	}
	return min(d, time.Duration(b.Cap))
}

// ContainerPlan is one process to run.
type ContainerPlan struct {
	Name string `json:"name"`
	// Image is informational: it is not pulled, the command runs here.
	Image string `json:"image,omitempty"`
	// Argv is executed directly (no shell), resolved in PATH when it has no
	// slash. $(VAR) references expand as Kubernetes does.
	Argv []string `json:"argv"`
	// Env is added to the environment batchctl runs in; Indexed jobs add
	// JOB_COMPLETION_INDEX.
	Env []EnvVar `json:"env,omitempty"`
	// WorkingDir is absolute: the manifest's, resolved against the directory
	// batchctl ran in, or that directory when the manifest has none.
	WorkingDir string `json:"workingDir"`
}

// EnvVar is a literal environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Duration marshals as Go duration text ("10s") for people reading Render.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}
