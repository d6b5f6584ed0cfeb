package local

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller"
	"github.com/batchctl/batchctl/jobspec"
)

func (b *backend) Render(job *jobspec.Job) (*backends.Rendering, error) {
	p, err := b.plan(job, "render")
	if err != nil {
		return nil, err
	}
	return &backends.Rendering{Native: p, Fidelity: fidelity(job, p.Runtime)}, nil
}

// plan translates job into what the supervisor will run, or says why it
// cannot run here.
func (b *backend) plan(job *jobspec.Job, op string) (*Plan, error) {
	ns := job.Namespace
	if ns == "" {
		ns = b.namespace
	}
	ref := backends.Ref{Name: job.Name, Namespace: ns}
	if ref.Name == "" {
		ref.Name = job.GenerateName
	}
	invalid := func(format string, args ...any) error {
		return &backends.Error{Kind: backends.ErrInvalid, Op: op, Ref: ref, Msg: fmt.Sprintf(format, args...)}
	}
	if job.Name == "" && job.GenerateName == "" {
		return nil, invalid("metadata.name or metadata.generateName is required")
	}
	if job.Parallelism == 0 {
		return nil, invalid("spec.parallelism: 0 leaves the job paused, and the local backend cannot scale a job once submitted")
	}
	if len(job.Template.Containers) == 0 {
		return nil, invalid("spec.template.spec.containers: at least one container is required")
	}
	// The state machine refuses what it cannot run faithfully (sidecars,
	// per-container restart rules).
	if _, err := jobcontroller.New(job.Object, jobcontroller.Options{}, time.Now()); err != nil {
		return nil, invalid("%v", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, invalid("cannot resolve the working directory: %v", err)
	}
	p := &Plan{
		Kind:           "LocalJob",
		Namespace:      ns,
		Name:           job.Name,
		GenerateName:   job.GenerateName,
		Labels:         map[string]string{backends.ManagedByLabel: backends.ManagedByValue},
		Runtime:        b.runtime,
		Completions:    job.Completions,
		Parallelism:    job.Parallelism,
		CompletionMode: string(job.CompletionMode),
		RestartPolicy:  string(job.Template.RestartPolicy),
		Backoff:        Backoff{Initial: Duration(b.backoff), Cap: Duration(b.backoffCap)},
	}
	for k, v := range job.Labels {
		p.Labels[k] = v
	}
	if p.CompletionMode == "" {
		p.CompletionMode = string(jobspec.NonIndexed)
	}
	if p.RestartPolicy == "" {
		p.RestartPolicy = string(jobspec.RestartNever)
	}
	pod := job.Object.Spec.Template.Spec
	docker := b.runtime == RuntimeDocker
	var defaulted *corev1.PodSpec // imagePullPolicy as the API server defaults it
	if docker {
		if p.Docker, err = b.dockerPlan(); err != nil {
			return nil, invalid("%v", err)
		}
		if p.Volumes, err = b.volumesPlan(pod.Volumes); err != nil {
			return nil, invalid("%v", err)
		}
		defaulted = &jobspec.Defaults(job.Object).Spec.Template.Spec
	}
	convert := func(field string, cs []jobspec.Container, native []corev1.Container) ([]ContainerPlan, error) {
		var out []ContainerPlan
		for i, c := range cs {
			at := fmt.Sprintf("spec.template.spec.%s[%d]", field, i)
			if docker {
				if i >= len(native) {
					return nil, invalid("%s (%s): not in the manifest's object", at, c.Name)
				}
				d := defaulted.Containers
				if field == "initContainers" {
					d = defaulted.InitContainers
				}
				cp, err := dockerContainerPlan(at, c, native[i], d[i].ImagePullPolicy, &pod, p.Volumes)
				if err != nil {
					return nil, invalid("%v", err)
				}
				if cp.Env, err = envPlan(at, native[i]); err != nil {
					return nil, invalid("%v", err)
				}
				out = append(out, cp)
				continue
			}
			// Without command the image's entrypoint runs (args are its
			// arguments), and there is no image here to take it from.
			if len(c.Command) == 0 {
				return nil, invalid("%s (%s): no command: the exec runtime cannot run an image's entrypoint; set command, or use local.runtime docker", at, c.Name)
			}
			wd := c.WorkingDir
			switch {
			case wd == "":
				wd = cwd
			case !filepath.IsAbs(wd):
				wd = filepath.Join(cwd, wd)
			}
			cp := ContainerPlan{Name: c.Name, Image: c.Image, Argv: c.Argv(), WorkingDir: wd,
				Limits: c.Resources.Limits, Requests: c.Resources.Requests}
			if i < len(native) {
				env, err := envPlan(at, native[i])
				if err != nil {
					return nil, invalid("%v", err)
				}
				cp.Env = env
			}
			out = append(out, cp)
		}
		return out, nil
	}
	if p.InitContainers, err = convert("initContainers", job.Template.InitContainers, pod.InitContainers); err != nil {
		return nil, err
	}
	if p.Containers, err = convert("containers", job.Template.Containers, pod.Containers); err != nil {
		return nil, err
	}
	if docker && op == "submit" {
		// Said now, as for the other backends, rather than by each pod.
		if err := pingDocker(p.Docker); err != nil {
			return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: op, Ref: ref, Msg: "local.runtime docker: " + err.Error(), Err: err}
		}
	}
	return p, nil
}

// envPlan reads a container's env as Kubernetes would resolve it. Values
// held in Secrets and ConfigMaps do not exist here: such a variable is
// refused, naming the field, or left unset where optional, never empty.
func envPlan(at string, c corev1.Container) ([]EnvVar, error) {
	var out []EnvVar
	for i, e := range c.Env {
		field := fmt.Sprintf("%s.env[%d]", at, i)
		v := EnvVar{Name: e.Name, Value: e.Value}
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil:
				v.From = &EnvSource{FieldPath: f.FieldRef.FieldPath}
			case f.ResourceFieldRef != nil:
				v.From = &EnvSource{Resource: f.ResourceFieldRef.Resource, Container: f.ResourceFieldRef.ContainerName}
				if !f.ResourceFieldRef.Divisor.IsZero() {
					v.From.Divisor = f.ResourceFieldRef.Divisor.String()
				}
			case f.SecretKeyRef != nil && optional(f.SecretKeyRef.Optional):
				continue
			case f.ConfigMapKeyRef != nil && optional(f.ConfigMapKeyRef.Optional):
				continue
			case f.SecretKeyRef != nil:
				return nil, fmt.Errorf("%s.valueFrom.secretKeyRef (%s): the local backend has no Secret %q; set value, or optional: true to leave %s unset",
					field, e.Name, f.SecretKeyRef.Name, e.Name)
			case f.ConfigMapKeyRef != nil:
				return nil, fmt.Errorf("%s.valueFrom.configMapKeyRef (%s): the local backend has no ConfigMap %q; set value, or optional: true to leave %s unset",
					field, e.Name, f.ConfigMapKeyRef.Name, e.Name)
			default:
				return nil, fmt.Errorf("%s.valueFrom (%s): not supported by the local backend", field, e.Name)
			}
			if v.From.FieldPath != "" && !fieldPathSupported(v.From.FieldPath) {
				return nil, fmt.Errorf("%s.valueFrom.fieldRef.fieldPath: %q is not a field the local backend can provide", field, v.From.FieldPath)
			}
		}
		out = append(out, v)
	}
	for i, ef := range c.EnvFrom {
		field := fmt.Sprintf("%s.envFrom[%d]", at, i)
		switch {
		case ef.SecretRef != nil && optional(ef.SecretRef.Optional), ef.ConfigMapRef != nil && optional(ef.ConfigMapRef.Optional):
		case ef.SecretRef != nil:
			return nil, fmt.Errorf("%s.secretRef: the local backend has no Secret %q; set optional: true to skip it", field, ef.SecretRef.Name)
		case ef.ConfigMapRef != nil:
			return nil, fmt.Errorf("%s.configMapRef: the local backend has no ConfigMap %q; set optional: true to skip it", field, ef.ConfigMapRef.Name)
		}
	}
	return out, nil
}

func optional(b *bool) bool { return b != nil && *b }

// honoured are the fields the neutral model leaves out that the local
// backend honours itself: the Job controller's (through its state machine)
// and what it resolves in each pod.
var honoured = []string{
	"spec.podFailurePolicy", "spec.successPolicy", "spec.backoffLimitPerIndex", "spec.maxFailedIndexes",
	"spec.podReplacementPolicy", "spec.template.spec.activeDeadlineSeconds",
	"spec.template.spec.terminationGracePeriodSeconds",
	"spec.template.spec.containers[*].env", "spec.template.spec.initContainers[*].env",
	"spec.template.spec.containers[*].envFrom", "spec.template.spec.initContainers[*].envFrom",
}

// fidelity says what the local backend does instead of what it cannot
// honour, in the order the fields have in a Kubernetes Job. With runtime
// docker, images, pull policies, resource limits, emptyDir and hostPath
// volumes and the usual securityContext fields are honoured: only what is
// not is reported.
func fidelity(job *jobspec.Job, runtime string) []backends.Fidelity {
	var out []backends.Fidelity
	add := func(field string, level backends.FidelityLevel, outcome bool, msg string) {
		out = append(out, backends.Fidelity{Field: field, Level: level, Outcome: outcome, Message: msg})
	}
	if runtime == RuntimeDocker {
		handled := dockerFidelity(job, add)
		for _, path := range job.Unmodelled {
			switch {
			case isHonoured(path), handled(path):
			case backends.PlacementOnly(path):
				add(path, backends.Approximated, false, "ignored: it only says where or how soon pods run, and they run on this backend's daemon at once")
			default:
				add(path, backends.Unsupported, true, "not honoured by the local backend: the job runs as if it were absent")
			}
		}
		backends.SortFidelity(out)
		return out
	}
	var images []string // said once for the job, not per container
	imageField := "spec.template.spec.initContainers[*].image"
	for _, list := range []struct {
		field string
		cs    []jobspec.Container
	}{{"initContainers", job.Template.InitContainers}, {"containers", job.Template.Containers}} {
		for i, c := range list.cs {
			if c.Image != "" {
				if !slices.Contains(images, c.Image) {
					images = append(images, c.Image)
				}
				if list.field == "containers" {
					imageField = "spec.template.spec.containers[*].image"
				}
			}
			at := fmt.Sprintf("spec.template.spec.%s[%d].resources", list.field, i)
			if _, ok := c.Resources.Limits["memory"]; ok {
				add(at+".limits.memory", backends.Unsupported, true,
					"not enforced: a container that exceeds it runs on here, where Kubernetes would kill it (OOMKilled)")
			}
			if _, ok := c.Resources.Limits["cpu"]; ok {
				add(at+".limits.cpu", backends.Approximated, false, "not enforced: the container is not throttled, so it may finish sooner")
			}
			if len(c.Resources.Requests) > 0 {
				add(at+".requests", backends.Approximated, false, "nothing is reserved: the container starts at once whatever this machine has free")
			}
		}
	}
	switch len(images) {
	case 0:
	case 1:
		add(imageField, backends.Note, false, "image "+images[0]+" is not pulled: commands run on this machine")
	default:
		add(imageField, backends.Note, false, "images "+strings.Join(images, ", ")+" are not pulled: commands run on this machine")
	}
	for _, path := range job.Unmodelled {
		switch {
		case isHonoured(path):
		case backends.PlacementOnly(path):
			add(path, backends.Approximated, false, "ignored: it only says where or how soon pods run, and they run on this machine at once")
		default:
			add(path, backends.Unsupported, true, "not honoured by the local backend: the job runs as if it were absent")
		}
	}
	backends.SortFidelity(out)
	return out
}

func isHonoured(path string) bool {
	generic := path
	for _, f := range []string{"containers", "initContainers"} {
		if i := strings.Index(generic, "."+f+"["); i >= 0 {
			if j := strings.Index(generic[i:], "]"); j >= 0 {
				generic = generic[:i] + "." + f + "[*]" + generic[i+j+1:]
			}
		}
	}
	for _, h := range honoured {
		if generic == h || strings.HasPrefix(generic, h+".") || strings.HasPrefix(generic, h+"[") {
			return true
		}
	}
	return false
}

// defaultBackoffCap is the Kubernetes Job controller's.
const defaultBackoffCap = 10 * time.Minute
