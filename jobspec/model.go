package jobspec

import (
	"maps"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// modelledLeaves are the field patterns ([*] for any index) whose whole value
// the neutral model carries; modelledPrefixes are their ancestors, below
// which some fields are modelled and others are not.
var modelledLeaves, modelledPrefixes = modelledSets(
	"apiVersion", "kind",
	"metadata.name", "metadata.generateName", "metadata.namespace", "metadata.labels", "metadata.annotations",
	"spec.completions", "spec.parallelism", "spec.completionMode", "spec.backoffLimit",
	"spec.activeDeadlineSeconds", "spec.ttlSecondsAfterFinished", "spec.suspend",
	"spec.template.metadata.labels", "spec.template.metadata.annotations",
	"spec.template.spec.restartPolicy",
	"spec.template.spec.containers[*]", "spec.template.spec.initContainers[*]",
)

var containerLeaves = []string{
	"name", "image", "command", "args", "workingDir",
	"resources.requests", "resources.limits", "env[*].name", "env[*].value",
}

func modelledSets(leaves ...string) (map[string]bool, map[string]bool) {
	leaf, prefix := map[string]bool{}, map[string]bool{}
	for _, l := range leaves {
		if strings.HasSuffix(l, "ontainers[*]") {
			for _, c := range containerLeaves {
				leaf[l+"."+c] = true
			}
			continue
		}
		leaf[l] = true
	}
	for l := range leaf {
		for i := range len(l) {
			if l[i] == '.' || l[i] == '[' {
				prefix[l[:i]] = true
			}
		}
	}
	return leaf, prefix
}

// fillModel sets j's neutral fields from j.Object, applying Kubernetes defaults.
func (j *Job) fillModel() {
	o := j.Object
	j.Name = o.Name
	j.GenerateName = o.GenerateName
	j.Namespace = o.Namespace
	j.Labels = maps.Clone(o.Labels)
	j.Annotations = maps.Clone(o.Annotations)

	s := &o.Spec
	j.Completions = deref(s.Completions, 1)
	j.Parallelism = deref(s.Parallelism, 1)
	j.WorkQueue = s.Completions == nil && j.Parallelism > 1
	j.CompletionMode = NonIndexed
	if s.CompletionMode != nil && *s.CompletionMode != "" {
		j.CompletionMode = CompletionMode(*s.CompletionMode)
	}
	j.BackoffLimit = deref(s.BackoffLimit, DefaultBackoffLimit)
	j.ActiveDeadlineSeconds = clonePtr(s.ActiveDeadlineSeconds)
	j.TTLSecondsAfterFinished = clonePtr(s.TTLSecondsAfterFinished)
	j.Suspend = deref(s.Suspend, false)

	t := &s.Template
	j.Template = PodTemplate{
		Labels:         maps.Clone(t.Labels),
		Annotations:    maps.Clone(t.Annotations),
		RestartPolicy:  RestartPolicy(t.Spec.RestartPolicy),
		InitContainers: containers(t.Spec.InitContainers),
		Containers:     containers(t.Spec.Containers),
	}
}

func containers(cs []corev1.Container) []Container {
	if cs == nil {
		return nil
	}
	out := make([]Container, len(cs))
	for i, c := range cs {
		out[i] = Container{
			Name:       c.Name,
			Image:      c.Image,
			Command:    slices.Clone(c.Command),
			Args:       slices.Clone(c.Args),
			WorkingDir: c.WorkingDir,
			Resources: Resources{
				Requests: quantities(c.Resources.Requests),
				Limits:   quantities(c.Resources.Limits),
			},
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil { // valueFrom entries are listed in Unmodelled
				out[i].Env = append(out[i].Env, EnvVar{Name: e.Name, Value: e.Value})
			}
		}
	}
	return out
}

func quantities(rl corev1.ResourceList) map[string]string {
	if rl == nil {
		return nil
	}
	m := make(map[string]string, len(rl))
	for name, q := range rl {
		m[string(name)] = q.String()
	}
	return m
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// newJob wraps a decoded object; unmodelled comes from the document walk.
func newJob(source string, o *batchv1.Job, unmodelled []string) *Job {
	j := &Job{Source: source, Object: o, Unmodelled: unmodelled}
	j.fillModel()
	return j
}
