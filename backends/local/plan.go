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
	Kind         string            `json:"kind"` // always "LocalJob"
	Namespace    string            `json:"namespace"`
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Runtime      string            `json:"runtime"` // exec or docker
	// Docker is the daemon runtime docker runs the pods on.
	Docker         *DockerPlan `json:"docker,omitempty"`
	Completions    int32       `json:"completions"`
	Parallelism    int32       `json:"parallelism"`
	CompletionMode string      `json:"completionMode"`
	RestartPolicy  string      `json:"restartPolicy"`
	// Backoff is the delay before a failed pod is replaced, Initial·2^(n−1)
	// after n failures in a row, at most Cap; OnFailure restarts use the
	// kubelet's (the first at once).
	Backoff Backoff `json:"backoff"`
	// InitContainers run one after the other, then Containers together, as
	// one pod; each container is a process group (and cgroup) here.
	InitContainers []ContainerPlan `json:"initContainers,omitempty"`
	Containers     []ContainerPlan `json:"containers"`
	// Volumes are the pod's volumes (runtime docker): emptyDir, hostPath.
	Volumes []VolumePlan `json:"volumes,omitempty"`
}

// DockerPlan says which daemon runs the containers.
type DockerPlan struct {
	// Host is DOCKER_HOST's form; "" is the Docker CLI's default socket.
	Host string `json:"host,omitempty"`
	// Context names the Docker CLI context Host came from, if one did;
	// TLSDir holds its ca.pem, cert.pem and key.pem, if it has them.
	Context string `json:"context,omitempty"`
	TLSDir  string `json:"tlsDir,omitempty"`
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
	// ImagePullPolicy is runtime docker's, defaulted as Kubernetes does.
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
	// Argv is executed directly (no shell), resolved in PATH when it has no
	// slash. $(VAR) references expand as Kubernetes does. Runtime exec.
	Argv []string `json:"argv,omitempty"`
	// Command replaces the image's ENTRYPOINT and Args its CMD (runtime
	// docker); nil keeps the image's. $(VAR) references expand.
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env is added to the environment batchctl ran in; Indexed jobs add
	// JOB_COMPLETION_INDEX.
	Env []EnvVar `json:"env,omitempty"`
	// WorkingDir is absolute. Runtime exec: the manifest's, resolved
	// against the directory batchctl ran in, or that directory when the
	// manifest has none. Runtime docker: the manifest's; "" is the image's.
	WorkingDir string `json:"workingDir,omitempty"`
	// Limits and Requests are the container's resources (quantities), for
	// resourceFieldRef.
	Limits   map[string]string `json:"limits,omitempty"`
	Requests map[string]string `json:"requests,omitempty"`
	// Mounts and Security are runtime docker's.
	Mounts   []MountPlan   `json:"volumeMounts,omitempty"`
	Security *SecurityPlan `json:"securityContext,omitempty"`
}

// VolumePlan is a pod volume (runtime docker).
type VolumePlan struct {
	Name     string        `json:"name"`
	EmptyDir *EmptyDirPlan `json:"emptyDir,omitempty"`
	HostPath *HostPathPlan `json:"hostPath,omitempty"`
}

// EmptyDirPlan is a volume made for the pod and removed with it: a Docker
// volume, a tmpfs of at most SizeLimit when Medium is Memory.
type EmptyDirPlan struct {
	Medium    string `json:"medium,omitempty"`
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// HostPathPlan is a path on the daemon's machine, bind-mounted.
type HostPathPlan struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// MountPlan mounts a pod volume into a container.
type MountPlan struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// SecurityPlan is a container's effective securityContext: the
// container's settings over the pod's.
type SecurityPlan struct {
	RunAsUser              *int64   `json:"runAsUser,omitempty"`
	RunAsGroup             *int64   `json:"runAsGroup,omitempty"`
	RunAsNonRoot           bool     `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem bool     `json:"readOnlyRootFilesystem,omitempty"`
	Privileged             bool     `json:"privileged,omitempty"`
	NoNewPrivileges        bool     `json:"noNewPrivileges,omitempty"` // allowPrivilegeEscalation: false
	CapAdd                 []string `json:"capAdd,omitempty"`
	CapDrop                []string `json:"capDrop,omitempty"`
	SupplementalGroups     []int64  `json:"supplementalGroups,omitempty"` // with fsGroup
	// SeccompUnconfined: seccompProfile Unconfined (RuntimeDefault is the
	// daemon's default profile).
	SeccompUnconfined bool `json:"seccompUnconfined,omitempty"`
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
