package jobspec

import (
	"errors"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Apply applies command-line overrides to Object and the neutral fields, then
// re-validates. Errors are an ErrorList with Line 0 and Field naming the
// override's target; on error j is left unchanged.
func (j *Job) Apply(o Overrides) error {
	if j.Object == nil {
		return errors.New("jobspec: Apply needs a Job from Parse or Load")
	}
	// Check the overrides themselves first, so a bad one leaves j as it was.
	v := &validator{file: j.Source}
	if o.Name != "" {
		v.invalid("metadata.name", o.Name, validation.IsDNS1123Subdomain(o.Name))
	}
	if o.Namespace != "" {
		v.invalid("metadata.namespace", o.Namespace, validation.IsDNS1123Label(o.Namespace))
	}
	for _, e := range o.Env {
		if e.Name == "" {
			v.add("env", required("an environment variable needs a name"))
		} else {
			v.invalid("env", e.Name, validation.IsEnvVarName(e.Name))
		}
	}
	if len(v.errs) > 0 {
		return v.errs
	}

	obj := j.Object.DeepCopy()
	if o.Name != "" {
		obj.Name, obj.GenerateName = o.Name, ""
	}
	if o.Namespace != "" {
		obj.Namespace = o.Namespace
	}
	unmodelled := j.Unmodelled
	if len(o.Env) > 0 {
		ps := &obj.Spec.Template.Spec
		for i := range ps.InitContainers {
			unmodelled = setEnv(&ps.InitContainers[i], "spec.template.spec.initContainers["+strconv.Itoa(i)+"]", o.Env, unmodelled)
		}
		for i := range ps.Containers {
			unmodelled = setEnv(&ps.Containers[i], "spec.template.spec.containers["+strconv.Itoa(i)+"]", o.Env, unmodelled)
		}
	}
	// Whatever else is wrong was there before; positions are gone, so Line 0.
	if errs := validateJob(j.Source, obj, nil); len(errs) > 0 {
		return errs
	}
	j.Object, j.Unmodelled = obj, unmodelled
	j.fillModel()
	return nil
}

// setEnv adds or replaces literal env vars in c. A replaced valueFrom entry
// becomes literal, so its Unmodelled path (under prefix) is dropped.
func setEnv(c *corev1.Container, prefix string, env []EnvVar, unmodelled []string) []string {
	for _, e := range env {
		found := false
		for i := range c.Env {
			if c.Env[i].Name != e.Name {
				continue
			}
			// Every same-named entry is replaced: Kubernetes lets the last one win.
			found = true
			if c.Env[i].ValueFrom != nil {
				drop := prefix + ".env[" + strconv.Itoa(i) + "]."
				var kept []string
				for _, u := range unmodelled {
					if !strings.HasPrefix(u, drop) {
						kept = append(kept, u)
					}
				}
				unmodelled = kept
			}
			c.Env[i] = corev1.EnvVar{Name: e.Name, Value: e.Value}
		}
		if !found {
			c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
	}
	return unmodelled
}
