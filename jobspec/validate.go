package jobspec

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Kubernetes limits that apimachinery does not export in a handy form.
const (
	totalAnnotationSizeLimit = 256 * 1024 // apimachinery's TotalAnnotationSizeLimitB
	maxIndexedCompletions    = 100_000    // batch's maxCompletionsForIndexedJob / maxParallelismForIndexedJob
)

// validator checks the fields the neutral model carries, with Kubernetes'
// rules and (mostly) wording. locs places errors; nil places none (Line 0).
type validator struct {
	file    string
	locs    map[string]loc
	errs    ErrorList
	tooMany bool
	// prefix is prepended to every path: "spec.jobTemplate." while a
	// CronJob's template is checked with the Job's rules.
	prefix string
}

// at finds where path is written, or its nearest written ancestor: a missing
// field is reported at the mapping that should hold it.
func (v *validator) at(path string, key bool) (int, int) {
	if v.locs == nil {
		return 0, 0
	}
	for {
		if l, ok := v.locs[path]; ok {
			if key && l.keyLine > 0 {
				return l.keyLine, l.keyCol
			}
			return l.line, l.col
		}
		if path == "" {
			return 0, 0
		}
		key = false
		if strings.HasSuffix(path, "]") {
			path = path[:strings.LastIndexByte(path, '[')]
		} else if i := strings.LastIndexByte(path, '.'); i >= 0 {
			path = path[:i]
		} else {
			path = ""
		}
	}
}

func (v *validator) add(path, msg string) {
	if len(v.errs) >= maxErrors {
		v.tooMany = true
		return
	}
	path = v.prefix + path
	line, col := v.at(path, false)
	v.errs = append(v.errs, &FieldError{File: v.file, Line: line, Col: col, Field: path, Msg: msg})
}

// addKey reports a problem with a map key, at the key, against the map field.
func (v *validator) addKey(mapField, key, msg string) {
	if len(v.errs) >= maxErrors {
		v.tooMany = true
		return
	}
	mapField = v.prefix + mapField
	line, col := v.at(mapField+"["+key+"]", true)
	v.errs = append(v.errs, &FieldError{File: v.file, Line: line, Col: col, Field: mapField, Msg: msg})
}

// invalid reports a failed apimachinery check (msgs non-empty) with the value.
func (v *validator) invalid(path string, value any, msgs []string) {
	if len(msgs) > 0 {
		v.add(path, strings.Join(msgs, "; ")+", got "+quoteValue(value))
	}
}

func quoteValue(value any) string {
	if s, ok := value.(string); ok {
		return strconv.Quote(truncate(s))
	}
	return fmt.Sprint(value)
}

func required(detail string) string {
	if detail == "" {
		return "Required value"
	}
	return "Required value: " + detail
}

func unsupported[T ~string](value T, supported ...T) string {
	q := make([]string, len(supported))
	for i, s := range supported {
		q[i] = strconv.Quote(string(s))
	}
	return fmt.Sprintf("Unsupported value: %q: supported values: %s", string(value), strings.Join(q, ", "))
}

// validateJob returns every problem with the modelled fields of o (up to maxErrors).
func validateJob(file string, o *batchv1.Job, locs map[string]loc) ErrorList {
	v := &validator{file: file, locs: locs}
	v.job(o)
	return v.errs
}

func (v *validator) job(o *batchv1.Job) {
	v.objectMeta(o)
	v.jobSpec(&o.Spec)
	validatePolicies(v, o)
}

func (v *validator) objectMeta(o *batchv1.Job) {
	switch {
	case o.Name != "":
		v.invalid("metadata.name", o.Name, validation.IsDNS1123Subdomain(o.Name))
	case o.GenerateName == "":
		v.add("metadata.name", required("name or generateName is required"))
	}
	if o.GenerateName != "" {
		// A prefix may end in "-": Kubernetes masks it before checking.
		masked := strings.TrimSuffix(o.GenerateName, "-") + strings.Repeat("a", len(o.GenerateName)-len(strings.TrimSuffix(o.GenerateName, "-")))
		v.invalid("metadata.generateName", o.GenerateName, validation.IsDNS1123Subdomain(masked))
	}
	if o.Namespace != "" {
		v.invalid("metadata.namespace", o.Namespace, validation.IsDNS1123Label(o.Namespace))
	}
	v.labels("metadata.labels", o.Labels)
	v.annotations("metadata.annotations", o.Annotations)
}

func (v *validator) labels(path string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			v.addKey(path, k, fmt.Sprintf("invalid key %q: %s", k, strings.Join(msgs, "; ")))
		}
		v.invalid(path+"["+k+"]", labels[k], content.IsLabelValue(labels[k]))
	}
}

func (v *validator) annotations(path string, annotations map[string]string) {
	size := 0
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		size += len(k) + len(annotations[k])
		// Kubernetes checks annotation keys case-insensitively.
		if msgs := content.IsLabelKey(strings.ToLower(k)); len(msgs) > 0 {
			v.addKey(path, k, fmt.Sprintf("invalid key %q: %s", k, strings.Join(msgs, "; ")))
		}
	}
	if size > totalAnnotationSizeLimit {
		v.add(path, fmt.Sprintf("Too long: must have at most %d bytes, got %d", totalAnnotationSizeLimit, size))
	}
}

func nonNegative[T int32 | int64](v *validator, path string, p *T) {
	if p != nil && *p < 0 {
		v.add(path, fmt.Sprintf("must be greater than or equal to 0, got %d", *p))
	}
}

func (v *validator) jobSpec(s *batchv1.JobSpec) {
	nonNegative(v, "spec.parallelism", s.Parallelism)
	nonNegative(v, "spec.completions", s.Completions)
	nonNegative(v, "spec.backoffLimit", s.BackoffLimit)
	nonNegative(v, "spec.ttlSecondsAfterFinished", s.TTLSecondsAfterFinished)
	// The Job API accepts 0 (the job fails at once); only the pod field needs > 0.
	if p := s.ActiveDeadlineSeconds; p != nil && *p < 0 {
		v.add("spec.activeDeadlineSeconds", fmt.Sprintf("must be greater than or equal to 0, got %d", *p))
	}
	if m := s.CompletionMode; m != nil {
		switch *m {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				v.add("spec.completions", required("when completion mode is Indexed"))
			} else if *s.Completions > maxIndexedCompletions {
				v.add("spec.completions", fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed, got %d", maxIndexedCompletions, *s.Completions))
			}
			if s.Parallelism != nil && *s.Parallelism > maxIndexedCompletions {
				v.add("spec.parallelism", fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed, got %d", maxIndexedCompletions, *s.Parallelism))
			}
		default:
			v.add("spec.completionMode", unsupported(*m, batchv1.NonIndexedCompletion, batchv1.IndexedCompletion))
		}
	}

	t := &s.Template
	v.labels("spec.template.metadata.labels", t.Labels)
	v.annotations("spec.template.metadata.annotations", t.Annotations)

	const ps = "spec.template.spec"
	switch rp := t.Spec.RestartPolicy; rp {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		v.add(ps+".restartPolicy", required(`supported values: "OnFailure", "Never"`))
	default:
		v.add(ps+".restartPolicy", unsupported(rp, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))
	}
	if len(t.Spec.Containers) == 0 {
		v.add(ps+".containers", required("a Job needs at least one container"))
	}
	// core's ValidatePodSpec: unlike the Job's, the pod's deadline must be
	// positive and fit an int32 (the kubelet's arithmetic then never wraps).
	if p := t.Spec.ActiveDeadlineSeconds; p != nil && (*p < 1 || *p > math.MaxInt32) {
		v.add(ps+".activeDeadlineSeconds", validation.InclusiveRangeError(1, math.MaxInt32)+", got "+strconv.FormatInt(*p, 10))
	}

	type named struct{ path, name string }
	var all []named
	for i := range t.Spec.InitContainers {
		if v.tooMany {
			return
		}
		p := ps + ".initContainers[" + strconv.Itoa(i) + "]"
		v.container(p, &t.Spec.InitContainers[i])
		all = append(all, named{p, t.Spec.InitContainers[i].Name})
	}
	for i := range t.Spec.Containers {
		if v.tooMany {
			return // the rest would not be shown
		}
		p := ps + ".containers[" + strconv.Itoa(i) + "]"
		v.container(p, &t.Spec.Containers[i])
		all = append(all, named{p, t.Spec.Containers[i].Name})
	}
	// Names are unique across both lists; the later one in the file is the duplicate.
	slices.SortStableFunc(all, func(a, b named) int {
		al, ac := v.at(v.prefix+a.path, false)
		bl, bc := v.at(v.prefix+b.path, false)
		return cmp.Or(cmp.Compare(al, bl), cmp.Compare(ac, bc))
	})
	seen := map[string]bool{}
	for _, c := range all {
		if c.name != "" && seen[c.name] {
			v.add(c.path+".name", fmt.Sprintf("Duplicate value: %q", c.name))
		}
		seen[c.name] = true
	}
}

func (v *validator) container(path string, c *corev1.Container) {
	if c.Name == "" {
		v.add(path+".name", required(""))
	} else {
		v.invalid(path+".name", c.Name, validation.IsDNS1123Label(c.Name))
	}
	switch {
	case c.Image == "":
		v.add(path+".image", required(""))
	case strings.TrimSpace(c.Image) != c.Image:
		v.add(path+".image", "must not have leading or trailing whitespace, got "+quoteValue(c.Image))
	}
	for i, e := range c.Env {
		p := path + ".env[" + strconv.Itoa(i) + "]"
		if e.Name == "" {
			v.add(p+".name", required(""))
		} else {
			v.invalid(p+".name", e.Name, validation.IsEnvVarName(e.Name))
		}
		if e.ValueFrom != nil && e.Value != "" {
			v.add(p+".valueFrom", "may not be specified when `value` is not empty")
		}
	}
	v.resources(path+".resources", &c.Resources)
}

func (v *validator) resources(path string, r *corev1.ResourceRequirements) {
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		for _, name := range slices.Sorted(maps.Keys(list.rl)) {
			if q := list.rl[name]; q.Sign() < 0 {
				v.add(path+"."+list.name+"["+string(name)+"]", "must be greater than or equal to 0, got "+quoteValue(q.String()))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		req := r.Requests[name]
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			v.add(path+".requests["+string(name)+"]", fmt.Sprintf("must be less than or equal to %s limit of %s, got %s", name, lim.String(), req.String()))
		}
	}
}
