package nomad

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/batchctl/batchctl/jobspec"
)

// What a pod's Downward API reads (env[].valueFrom.fieldRef), as Nomad
// interpolates it when the task starts (as tokens: see nomadRef).
var (
	allocNameVar = nomadRef("NOMAD_ALLOC_NAME")               // <job>.pod[<index>]
	allocIDVar   = nomadRef("NOMAD_ALLOC_ID")                 // new per allocation
	allocIdxVar  = nomadRef("NOMAD_ALLOC_INDEX")              // the completion index
	nodeNameVar  = nomadRef("node.unique.name")               // the client's name
	nodeIPVar    = nomadRef("attr.unique.network.ip-address") // the client's address
)

// completionIndexKey is the label and annotation the Job controller puts on
// an Indexed job's pods.
const completionIndexKey = "batch.kubernetes.io/job-completion-index"

// env builds container c's environment as the kubelet would, in order:
// literal values with Kubernetes' $(VAR) expansion done here, the Downward
// API (fieldRef, resourceFieldRef) as values Nomad fills in when the task
// starts, then JOB_COMPLETION_INDEX unless the manifest sets it. It returns
// the task's env and the variables command and args may refer to (with
// batchctl's tokens, see nomadRef). Secrets and ConfigMaps do not
// exist here: such a variable is refused, naming the field, or left unset
// where optional, never empty.
func (t *translator) env(path string, c jobspec.Container, native *corev1.Container) (map[string]string, map[string]string, error) {
	vars := map[string]string{}
	var entries []corev1.EnvVar
	if native != nil {
		entries = native.Env
	} else {
		for _, e := range c.Env {
			entries = append(entries, corev1.EnvVar{Name: e.Name, Value: e.Value})
		}
	}
	for i, e := range entries {
		field := fmt.Sprintf("%s.env[%d]", path, i)
		if e.ValueFrom == nil {
			t.checkInterpolation(field+".value", []string{e.Value})
			vars[e.Name] = expand(e.Value, vars)
			continue
		}
		v, set, err := t.valueFrom(field, e, native)
		if err != nil {
			return nil, nil, err
		}
		if set {
			vars[e.Name] = v
		}
	}
	if native != nil {
		for i, ef := range native.EnvFrom {
			field := fmt.Sprintf("%s.envFrom[%d]", path, i)
			switch {
			case ef.SecretRef != nil && optional(ef.SecretRef.Optional), ef.ConfigMapRef != nil && optional(ef.ConfigMapRef.Optional):
			case ef.SecretRef != nil:
				return nil, nil, t.invalid("%s.secretRef: the nomad backend has no Secret %q; set optional: true to skip it", field, ef.SecretRef.Name)
			case ef.ConfigMapRef != nil:
				return nil, nil, t.invalid("%s.configMapRef: the nomad backend has no ConfigMap %q; set optional: true to skip it", field, ef.ConfigMapRef.Name)
			}
		}
	}
	if _, set := vars[indexEnv]; !set && mode(t.job) == jobspec.Indexed {
		vars[indexEnv] = allocIdxVar
	}
	if len(vars) == 0 {
		return nil, vars, nil
	}
	env := make(map[string]string, len(vars))
	for k, v := range vars {
		env[k] = fromTokens(v)
	}
	return env, vars, nil
}

func optional(b *bool) bool { return b != nil && *b }

// valueFrom resolves one env[].valueFrom; set is false for an optional
// Secret or ConfigMap key, which stays unset.
func (t *translator) valueFrom(field string, e corev1.EnvVar, self *corev1.Container) (v string, set bool, err error) {
	f := e.ValueFrom
	switch {
	case f.FieldRef != nil:
		v, err = t.fieldRef(field+".valueFrom.fieldRef", e.Name, f.FieldRef.FieldPath)
		return v, err == nil, err
	case f.ResourceFieldRef != nil:
		v, err = t.resourceFieldRef(field+".valueFrom.resourceFieldRef", e.Name, f.ResourceFieldRef, self)
		return v, err == nil, err
	case f.SecretKeyRef != nil && optional(f.SecretKeyRef.Optional), f.ConfigMapKeyRef != nil && optional(f.ConfigMapKeyRef.Optional):
		return "", false, nil
	case f.SecretKeyRef != nil:
		return "", false, t.invalid("%s.valueFrom.secretKeyRef (%s): the nomad backend has no Secret %q; set value, or optional: true to leave %s unset",
			field, e.Name, f.SecretKeyRef.Name, e.Name)
	case f.ConfigMapKeyRef != nil:
		return "", false, t.invalid("%s.valueFrom.configMapKeyRef (%s): the nomad backend has no ConfigMap %q; set value, or optional: true to leave %s unset",
			field, e.Name, f.ConfigMapKeyRef.Name, e.Name)
	}
	return "", false, t.invalid("%s.valueFrom (%s): not supported by the nomad backend", field, e.Name)
}

// fieldRef maps a Downward API field to what Nomad knows of the
// allocation, or refuses it.
func (t *translator) fieldRef(field, name, path string) (string, error) {
	tpl := t.job.Template
	switch path {
	case "metadata.name":
		t.envNote(field, "%s is Nomad's allocation name (%s.%s[<index>]), which a rescheduled allocation keeps; Kubernetes names every pod anew", name, t.ref.Name, groupName)
		return allocNameVar, nil
	case "metadata.namespace":
		return t.ref.Namespace, nil
	case "metadata.uid":
		return allocIDVar, nil
	case "spec.nodeName":
		return nodeNameVar, nil
	case "spec.serviceAccountName":
		if sa := t.serviceAccount(); sa != "" {
			return sa, nil
		}
		return "default", nil
	case "status.hostIP", "status.hostIPs":
		return nodeIPVar, nil
	case "status.podIP", "status.podIPs":
		if t.b.driver == driverDocker {
			t.envNote(field, "%s is the Nomad client's address: Nomad does not give a docker task its container's own address", name)
		}
		return nodeIPVar, nil
	}
	which, key, ok := mapField(path)
	if !ok {
		return "", t.invalid("%s.fieldPath: %q is not a field the nomad backend can provide", field, path)
	}
	values := tpl.Labels
	if which == "metadata.annotations" {
		values = tpl.Annotations
	}
	switch {
	case key == completionIndexKey && mode(t.job) == jobspec.Indexed:
		return allocIdxVar, nil
	case which == "metadata.labels" && (key == "batch.kubernetes.io/job-name" || key == "job-name"):
		if v, ok := values[key]; ok {
			return v, nil
		}
		return t.ref.Name, nil
	case which == "metadata.labels" && (key == "batch.kubernetes.io/controller-uid" || key == "controller-uid"):
		return "", t.invalid("%s.fieldPath (%s): %s is the job's UID, which Nomad gives its tasks no way to read (batchctl's UID of a Nomad job is the index Nomad assigns it when it registers the job)", field, name, path)
	case which == "metadata.annotations" && strings.HasPrefix(key, "batch.kubernetes.io/job-index-"):
		return "", t.invalid("%s.fieldPath (%s): %s is a count the Job controller keeps on each pod; Nomad has no such count for a task to read", field, name, path)
	}
	return values[key], nil // a key the pod does not have reads as "", as in Kubernetes
}

func (t *translator) serviceAccount() string {
	if t.job.Object == nil {
		return ""
	}
	ps := t.job.Object.Spec.Template.Spec
	if ps.ServiceAccountName != "" {
		return ps.ServiceAccountName
	}
	return ps.DeprecatedServiceAccount
}

// mapField splits metadata.labels['k'] and metadata.annotations['k'].
func mapField(path string) (which, key string, ok bool) {
	for _, w := range []string{"metadata.labels", "metadata.annotations"} {
		if rest, found := strings.CutPrefix(path, w+"['"); found && strings.HasSuffix(rest, "']") {
			return w, strings.TrimSuffix(rest, "']"), true
		}
	}
	return "", "", false
}

// resourceFieldRef computes a resource value as the kubelet does
// (pkg/api/v1/resource ExtractContainerResourceValue): a request defaults
// to the limit; a limit the container does not set is the node's capacity,
// which only Nomad's client knows, unrounded; the value is rounded up in
// units of the divisor.
func (t *translator) resourceFieldRef(field, name string, ref *corev1.ResourceFieldSelector, self *corev1.Container) (string, error) {
	target := self
	if ref.ContainerName != "" && t.job.Object != nil {
		target = nil
		ps := t.job.Object.Spec.Template.Spec
		for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
			for i := range cs {
				if cs[i].Name == ref.ContainerName {
					target = &cs[i]
				}
			}
		}
		if target == nil {
			return "", t.invalid("%s.containerName (%s): no container %q in the pod", field, name, ref.ContainerName)
		}
	}
	if target == nil {
		return "", t.invalid("%s (%s): the container's resources are not known", field, name)
	}
	kind, res, _ := strings.Cut(ref.Resource, ".")
	divisor := resource.MustParse("1")
	if !ref.Divisor.IsZero() {
		divisor = ref.Divisor
	}
	var q *resource.Quantity
	switch kind {
	case "limits":
		if v, ok := target.Resources.Limits[corev1.ResourceName(res)]; ok {
			q = &v
		}
	case "requests":
		if v, ok := target.Resources.Requests[corev1.ResourceName(res)]; ok {
			q = &v
		} else if v, ok := target.Resources.Limits[corev1.ResourceName(res)]; ok {
			q = &v
		} else {
			return "0", nil
		}
	default:
		return "", t.invalid("%s.resource (%s): %q is not a resource the nomad backend can provide", field, name, ref.Resource)
	}
	if q == nil {
		capacity := map[string]string{"cpu": "attr.cpu.numcores", "memory": "attr.memory.totalbytes",
			"ephemeral-storage": "attr.unique.storage.bytestotal"}[res]
		one := resource.MustParse("1")
		if capacity == "" || divisor.Cmp(one) != 0 {
			return "", t.invalid("%s (%s): the container sets no %s, so Kubernetes gives the node's capacity in units of %s, which the Nomad client knows only when the task starts and cannot divide; set resources.limits.%s, or divisor 1",
				field, name, ref.Resource, divisor.String(), res)
		}
		t.envNote(field, "%s is the Nomad client's whole %s (${%s}), where Kubernetes gives the node's allocatable %s", name, res, capacity, res)
		return nomadRef(capacity), nil
	}
	if res == "cpu" {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}
