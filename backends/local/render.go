package local

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

func (b *backend) Render(job *jobspec.Job) (*backends.Rendering, error) {
	p, err := b.plan(job, "render")
	if err != nil {
		return nil, err
	}
	return &backends.Rendering{Native: p, Fidelity: fidelity(job)}, nil
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
	if job.Suspend {
		return nil, invalid("spec.suspend: the local backend cannot suspend jobs")
	}
	if job.Parallelism == 0 {
		return nil, invalid("spec.parallelism: 0 leaves the job paused, and the local backend cannot resume or scale jobs")
	}
	if job.Name == "" && job.GenerateName == "" {
		return nil, invalid("metadata.name or metadata.generateName is required")
	}
	if len(job.Template.Containers) == 0 {
		return nil, invalid("spec.template.spec.containers: at least one container is required")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, invalid("cannot resolve the working directory: %v", err)
	}
	p := &Plan{
		Kind:                    "LocalJob",
		Namespace:               ns,
		Name:                    job.Name,
		GenerateName:            job.GenerateName,
		Labels:                  map[string]string{backends.ManagedByLabel: backends.ManagedByValue},
		Completions:             job.Completions,
		Parallelism:             job.Parallelism,
		CompletionMode:          string(job.CompletionMode),
		RestartPolicy:           string(job.Template.RestartPolicy),
		BackoffLimit:            job.BackoffLimit,
		Backoff:                 Backoff{Initial: Duration(b.backoff), Cap: Duration(b.backoffCap)},
		ActiveDeadlineSeconds:   job.ActiveDeadlineSeconds,
		TTLSecondsAfterFinished: job.TTLSecondsAfterFinished,
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
	convert := func(field string, cs []jobspec.Container) ([]ContainerPlan, error) {
		var out []ContainerPlan
		for i, c := range cs {
			// Without command the image's entrypoint runs (args are its
			// arguments), and there is no image here to take it from.
			if len(c.Command) == 0 {
				return nil, invalid("spec.template.spec.%s[%d] (%s): no command: the local backend cannot run an image's entrypoint; set command", field, i, c.Name)
			}
			argv := c.Argv()
			wd := c.WorkingDir
			switch {
			case wd == "":
				wd = cwd
			case !filepath.IsAbs(wd):
				wd = filepath.Join(cwd, wd)
			}
			cp := ContainerPlan{Name: c.Name, Image: c.Image, Argv: argv, WorkingDir: wd}
			for _, e := range c.Env {
				cp.Env = append(cp.Env, EnvVar{Name: e.Name, Value: e.Value})
			}
			out = append(out, cp)
		}
		return out, nil
	}
	if p.InitContainers, err = convert("initContainers", job.Template.InitContainers); err != nil {
		return nil, err
	}
	if p.Containers, err = convert("containers", job.Template.Containers); err != nil {
		return nil, err
	}
	return p, nil
}

// defaultBackoffCap is the Kubernetes Job controller's.
const defaultBackoffCap = 10 * time.Minute
