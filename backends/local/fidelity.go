package local

import (
	"fmt"
	"slices"
	"strings"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// fidelity reports what the local backend does not honour, in the order the
// fields have in a Kubernetes Job.
func fidelity(job *jobspec.Job) []backends.Fidelity {
	var out []backends.Fidelity
	add := func(field string, level backends.FidelityLevel, msg string) {
		out = append(out, backends.Fidelity{Field: field, Level: level, Message: msg})
	}
	if job.WorkQueue {
		add("spec.completions", backends.Approximated, fmt.Sprintf(
			"unset with parallelism %d (work-queue mode) runs as completions 1: one pod at a time until one succeeds", job.Parallelism))
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
			if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
				add(fmt.Sprintf("spec.template.spec.%s[%d].resources", list.field, i), backends.Unsupported,
					"resource requests and limits are not enforced by the local backend")
			}
		}
	}
	switch len(images) {
	case 0:
	case 1:
		add(imageField, backends.Note, "image "+images[0]+" is not pulled: commands run on this machine")
	default:
		add(imageField, backends.Note, "images "+strings.Join(images, ", ")+" are not pulled: commands run on this machine")
	}
	for _, path := range job.Unmodelled {
		add(path, backends.Unsupported, "not honoured by the local backend")
	}
	backends.SortFidelity(out)
	return out
}
