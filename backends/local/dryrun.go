package local

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// DryRun checks what Submit would, and what the runtime would meet when
// the pods start: the name is free, each exec command is found in PATH,
// the Docker daemon answers and each image is present or may be pulled.
// What would fail a pod (a command not found is StartError, an absent
// image under pull policy Never is ErrImageNeverPull) is a warning: the
// job would be accepted, as the API server would accept it.
func (b *backend) DryRun(ctx context.Context, job *jobspec.Job) (*backends.DryRun, error) {
	p, err := b.plan(job, "submit")
	if err != nil {
		return nil, err
	}
	if p.Name != "" {
		uid, err := b.st.lookup(p.Namespace, p.Name)
		if err != nil {
			return nil, err
		}
		if uid != "" {
			return nil, exists(p.Namespace, p.Name)
		}
	}
	var warnings []string
	containers := append(append([]ContainerPlan(nil), p.InitContainers...), p.Containers...)
	switch p.Runtime {
	case RuntimeDocker:
		w, err := dockerDryRun(ctx, p.Docker, containers)
		if err != nil {
			return nil, &backends.Error{Kind: backends.ErrUnavailable, Op: "submit", Ref: backends.Ref{Name: p.Name, Namespace: p.Namespace}, Msg: err.Error(), Err: err}
		}
		warnings = w
	default:
		for _, c := range containers {
			if len(c.Argv) == 0 || strings.Contains(c.Argv[0], "$(") {
				continue // expanded per pod
			}
			if _, err := lookPath(c.Argv[0], containerPATH(c)); err != nil {
				warnings = append(warnings, fmt.Sprintf("container %s: %v: its pods would fail to start (StartError)", c.Name, err))
			}
		}
	}
	now := time.Now()
	rec := &jobRecord{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Created: now, Plan: p}
	if rec.Name == "" {
		rec.Name = p.GenerateName + "*"
	}
	st := initialStatus(rec, job.Suspend)
	return &backends.DryRun{Status: &st, Warnings: warnings}, nil
}

// containerPATH is the PATH c's command is looked up in: the manifest's
// when it sets one literally, else the one batchctl runs with.
func containerPATH(c ContainerPlan) string {
	path := os.Getenv("PATH")
	for _, e := range c.Env {
		if e.Name == "PATH" && e.From == nil && !strings.Contains(e.Value, "$(") {
			path = e.Value
		}
	}
	return path
}

// dockerDryRun checks the daemon answers and which images it lacks.
func dockerDryRun(ctx context.Context, d *DockerPlan, containers []ContainerPlan) ([]string, error) {
	if err := pingDocker(d); err != nil {
		return nil, err
	}
	cli, err := dockerClient(d)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	var warnings []string
	for _, c := range containers {
		if _, err := reference.ParseNormalizedNamed(c.Image); err != nil {
			warnings = append(warnings, fmt.Sprintf("container %s: image %q is not a valid reference: its pods would wait (InvalidImageName)", c.Name, c.Image))
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, dockerCallTimeout)
		_, err := cli.ImageInspect(ictx, c.Image)
		cancel()
		switch {
		case err == nil:
		case !cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("inspect image %s: %w", c.Image, err)
		case c.ImagePullPolicy == "Never":
			warnings = append(warnings, fmt.Sprintf("container %s: image %s is not present and its pull policy is Never: its pods would wait (ErrImageNeverPull)", c.Name, c.Image))
		default:
			warnings = append(warnings, fmt.Sprintf("container %s: image %s is not present: it would be pulled", c.Name, c.Image))
		}
	}
	return warnings, nil
}
