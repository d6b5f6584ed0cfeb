// Package jobspec reads a Kubernetes batch/v1 Job manifest and turns it into
// the portable model every backend runs.
//
// The manifest is kept twice: Object is the typed Kubernetes Job exactly as
// the user wrote it (every field, modelled or not, so the k8s backend can send
// it losslessly), and the flat fields of Job are the neutral model, with
// Kubernetes defaults applied, that the local and Nomad backends translate.
package jobspec

import (
	batchv1 "k8s.io/api/batch/v1"
)

// CompletionMode is spec.completionMode.
type CompletionMode string

const (
	NonIndexed CompletionMode = "NonIndexed"
	Indexed    CompletionMode = "Indexed"
)

// RestartPolicy is spec.template.spec.restartPolicy; a Job allows only these two.
type RestartPolicy string

const (
	RestartNever     RestartPolicy = "Never"
	RestartOnFailure RestartPolicy = "OnFailure"
)

// Kubernetes defaults, applied when the manifest leaves a field unset.
const (
	DefaultBackoffLimit = 6
	DefaultNamespace    = "default"
)

// Job is one parsed, defaulted and validated Job.
type Job struct {
	// Source names where the manifest came from ("job.yaml", "<stdin>"), for messages.
	Source string
	// Object is the manifest as Kubernetes decodes it. Overrides (Apply) change
	// it together with the neutral fields below.
	Object *batchv1.Job

	Name         string // empty when GenerateName is used
	GenerateName string
	Namespace    string // empty: the backend's or context's default
	Labels       map[string]string
	Annotations  map[string]string

	Completions int32 // defaulted to 1
	// WorkQueue: completions was left unset with parallelism > 1, Kubernetes'
	// work-queue mode (all pods start; the job succeeds once one succeeds and
	// the rest have ended). Completions is 1 here; backends that run it as
	// completions 1 must say so in their fidelity report.
	WorkQueue               bool
	Parallelism             int32 // defaulted to 1
	CompletionMode          CompletionMode
	BackoffLimit            int32  // defaulted to 6
	ActiveDeadlineSeconds   *int64 // nil: no deadline
	TTLSecondsAfterFinished *int32 // nil: kept until deleted
	Suspend                 bool

	Template PodTemplate

	// Unmodelled lists the dotted paths of fields present in the manifest that
	// the neutral model above does not carry (e.g. "spec.template.spec.tolerations",
	// "spec.template.spec.containers[0].env[1].valueFrom"), outermost only, in
	// document order. Backends other than k8s name them in their fidelity report.
	Unmodelled []string
}

// PodTemplate is the part of spec.template the neutral model carries.
type PodTemplate struct {
	Labels         map[string]string
	Annotations    map[string]string
	RestartPolicy  RestartPolicy
	InitContainers []Container
	Containers     []Container
}

// Container is one entry of containers or initContainers.
type Container struct {
	Name       string
	Image      string
	Command    []string
	Args       []string
	Env        []EnvVar // only entries with a literal value; valueFrom is Unmodelled
	WorkingDir string
	Resources  Resources
}

// Argv is the process argv the container runs: command then args. It is nil
// when command is empty, because the program is then the image's entrypoint
// (with args appended to it), which only an image-running backend knows.
func (c Container) Argv() []string {
	if len(c.Command) == 0 {
		return nil
	}
	argv := make([]string, 0, len(c.Command)+len(c.Args))
	argv = append(argv, c.Command...)
	return append(argv, c.Args...)
}

// EnvVar is a literal environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// Resources are requests and limits as Kubernetes quantities ("500m", "1Gi").
type Resources struct {
	Requests map[string]string
	Limits   map[string]string
}
