package local

import (
	"encoding/json"
	"time"
)

// Plan is the local backend's native object: what the supervisor runs.
// Render returns it and Submit stores it with the job; the Job controller's
// semantics (completions, policies, deadlines, …) are read from the
// manifest itself by the state machine.
type Plan struct {
	Kind           string            `json:"kind"` // always "LocalJob"
	Namespace      string            `json:"namespace"`
	Name           string            `json:"name,omitempty"`
	GenerateName   string            `json:"generateName,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Runtime        string            `json:"runtime"` // exec
	Completions    int32             `json:"completions"`
	Parallelism    int32             `json:"parallelism"`
	CompletionMode string            `json:"completionMode"`
	RestartPolicy  string            `json:"restartPolicy"`
	// Backoff is the delay before a failed pod is replaced, Initial·2^(n−1)
	// after n failures in a row, at most Cap; OnFailure restarts use the
	// kubelet's (the first at once).
	Backoff Backoff `json:"backoff"`
	// InitContainers run one after the other, then Containers together, as
	// one pod; each container is a process group (and cgroup) here.
	InitContainers []ContainerPlan `json:"initContainers,omitempty"`
	Containers     []ContainerPlan `json:"containers"`
}

// Backoff is the Job controller's pod failure backoff.
type Backoff struct {
	Initial Duration `json:"initial"`
	Cap     Duration `json:"cap"`
}

// ContainerPlan is one process to run.
type ContainerPlan struct {
	Name string `json:"name"`
	// Image is informational with the exec runtime: the command runs here.
	Image string `json:"image,omitempty"`
	// Argv is executed directly (no shell), resolved in PATH when it has no
	// slash. $(VAR) references expand as Kubernetes does.
	Argv []string `json:"argv"`
	// Env is added to the environment batchctl ran in; Indexed jobs add
	// JOB_COMPLETION_INDEX.
	Env []EnvVar `json:"env,omitempty"`
	// WorkingDir is absolute: the manifest's, resolved against the directory
	// batchctl ran in, or that directory when the manifest has none.
	WorkingDir string `json:"workingDir"`
	// Limits and Requests are the container's resources (quantities), for
	// resourceFieldRef.
	Limits   map[string]string `json:"limits,omitempty"`
	Requests map[string]string `json:"requests,omitempty"`
}

// EnvVar is an environment variable: a literal value ($(VAR) expanded), or
// From a field of the pod or a resource of a container.
type EnvVar struct {
	Name  string     `json:"name"`
	Value string     `json:"value,omitempty"`
	From  *EnvSource `json:"from,omitempty"`
}

// EnvSource is a Downward API reference (env[].valueFrom).
type EnvSource struct {
	// FieldPath is a fieldRef: metadata.name, metadata.labels['k'], status.podIP, …
	FieldPath string `json:"fieldPath,omitempty"`
	// Resource is a resourceFieldRef (limits.cpu, requests.memory, …) of
	// Container (default: this one), in units of Divisor.
	Resource  string `json:"resource,omitempty"`
	Container string `json:"container,omitempty"`
	Divisor   string `json:"divisor,omitempty"`
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
