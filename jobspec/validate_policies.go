package jobspec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits of pkg/apis/batch/validation (Kubernetes 1.36).
const (
	maxFailedIndexesForIndexedJob           = 100_000
	completionsSoftLimit                    = 100_000
	parallelismLimitForHighCompletions      = 10_000
	maxFailedIndexesLimitForHighCompletions = 10_000
	maxPodFailurePolicyRules                = 20
	maxOnExitCodesValues                    = 255
	maxOnPodConditionsPatterns              = 20
	maxSuccessPolicyRules                   = 20
	maxSucceededIndexesLength               = 64 * 1024
)

// validatePolicies checks the failure, success and replacement policies of
// a Job as Kubernetes' validateJobSpec does: backoffLimitPerIndex,
// maxFailedIndexes, podFailurePolicy, successPolicy and podReplacementPolicy.
// spec.suspend has no create-time rule in Kubernetes, so none here. The
// restartPolicy values themselves are checked in validate.go; only their
// interplay with podFailurePolicy is checked here.
func validatePolicies(v *validator, job *batchv1.Job) {
	s := &job.Spec
	nonNegative(v, "spec.backoffLimitPerIndex", s.BackoffLimitPerIndex)
	nonNegative(v, "spec.maxFailedIndexes", s.MaxFailedIndexes)
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		v.add("spec.backoffLimitPerIndex", required("when maxFailedIndexes is specified"))
	}
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if indexed {
		validateIndexedLimits(v, s)
	} else if s.CompletionMode == nil || *s.CompletionMode == batchv1.NonIndexedCompletion {
		if p := s.BackoffLimitPerIndex; p != nil {
			v.add("spec.backoffLimitPerIndex", fmt.Sprintf("requires indexed completion mode, got %d", *p))
		}
		if p := s.MaxFailedIndexes; p != nil {
			v.add("spec.maxFailedIndexes", fmt.Sprintf("requires indexed completion mode, got %d", *p))
		}
	}
	if s.PodFailurePolicy != nil {
		validatePodFailurePolicy(v, s)
	}
	if s.SuccessPolicy != nil {
		if !indexed {
			v.add("spec.successPolicy", "requires indexed completion mode")
		} else if s.Completions != nil { // validate.go reports missing completions
			validateSuccessPolicy(v, s)
		}
	}
	validatePodReplacementPolicy(v, s)
	if s.PodFailurePolicy != nil && s.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		v.add("spec.template.spec.restartPolicy",
			fmt.Sprintf("only %q is supported when podFailurePolicy is specified, got %q", corev1.RestartPolicyNever, s.Template.Spec.RestartPolicy))
	}
}

func validateIndexedLimits(v *validator, s *batchv1.JobSpec) {
	if s.Completions != nil && s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > *s.Completions {
		v.add("spec.maxFailedIndexes", fmt.Sprintf("must be less than or equal to completions, got %d", *s.MaxFailedIndexes))
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
		v.add("spec.maxFailedIndexes", fmt.Sprintf("must be less than or equal to %d, got %d", maxFailedIndexesForIndexedJob, *s.MaxFailedIndexes))
	}
	if s.Completions == nil || *s.Completions <= completionsSoftLimit || s.BackoffLimitPerIndex == nil {
		return
	}
	if s.MaxFailedIndexes == nil {
		v.add("spec.maxFailedIndexes", required(fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
	}
	if s.Parallelism != nil && *s.Parallelism > parallelismLimitForHighCompletions {
		v.add("spec.parallelism", fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index, got %d",
			parallelismLimitForHighCompletions, completionsSoftLimit, *s.Parallelism))
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
		v.add("spec.maxFailedIndexes", fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index, got %d",
			maxFailedIndexesLimitForHighCompletions, completionsSoftLimit, *s.MaxFailedIndexes))
	}
}

func tooMany(max, got int) string {
	return fmt.Sprintf("Too many: must have at most %d items, got %d", max, got)
}

var podFailurePolicyActions = []batchv1.PodFailurePolicyAction{
	batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
	batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
}

func validatePodFailurePolicy(v *validator, s *batchv1.JobSpec) {
	const rules = "spec.podFailurePolicy.rules"
	if n := len(s.PodFailurePolicy.Rules); n > maxPodFailurePolicyRules {
		v.add(rules, tooMany(maxPodFailurePolicyRules, n))
	}
	var names []string
	for _, c := range s.Template.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range s.Template.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for i := range s.PodFailurePolicy.Rules {
		if v.tooMany {
			return
		}
		validatePodFailurePolicyRule(v, s, &s.PodFailurePolicy.Rules[i], rules+"["+strconv.Itoa(i)+"]", names)
	}
}

func validatePodFailurePolicyRule(v *validator, s *batchv1.JobSpec, r *batchv1.PodFailurePolicyRule, path string, names []string) {
	switch {
	case r.Action == "":
		v.add(path+".action", required("valid values: "+quotedList(podFailurePolicyActions)))
	case r.Action == batchv1.PodFailurePolicyActionFailIndex:
		if s.BackoffLimitPerIndex == nil {
			v.add(path+".action", fmt.Sprintf("requires the backoffLimitPerIndex to be set, got %q", r.Action))
		}
	case !slices.Contains(podFailurePolicyActions, r.Action):
		v.add(path+".action", unsupported(r.Action, podFailurePolicyActions...))
	}
	if r.OnExitCodes != nil {
		validateOnExitCodes(v, r.OnExitCodes, path+".onExitCodes", names)
	}
	if len(r.OnPodConditions) > 0 {
		validateOnPodConditions(v, r.OnPodConditions, path+".onPodConditions")
	}
	if r.OnExitCodes != nil && len(r.OnPodConditions) > 0 {
		v.add(path, "specifying both OnExitCodes and OnPodConditions is not supported")
	}
	if r.OnExitCodes == nil && len(r.OnPodConditions) == 0 {
		v.add(path, "specifying one of OnExitCodes and OnPodConditions is required")
	}
}

var exitCodesOperators = []batchv1.PodFailurePolicyOnExitCodesOperator{
	batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn,
}

func validateOnExitCodes(v *validator, r *batchv1.PodFailurePolicyOnExitCodesRequirement, path string, names []string) {
	switch {
	case r.Operator == "":
		v.add(path+".operator", required("valid values: "+quotedList(exitCodesOperators)))
	case !slices.Contains(exitCodesOperators, r.Operator):
		v.add(path+".operator", unsupported(r.Operator, exitCodesOperators...))
	}
	if r.ContainerName != nil && !slices.Contains(names, *r.ContainerName) {
		v.add(path+".containerName", "must be one of the container or initContainer names in the pod template, got "+quoteValue(*r.ContainerName))
	}
	values := path + ".values"
	switch n := len(r.Values); {
	case n == 0:
		v.add(values, "at least one value is required")
	case n > maxOnExitCodesValues:
		v.add(values, tooMany(maxOnExitCodesValues, n))
	}
	ordered := true
	seen := map[int32]bool{}
	for j, code := range r.Values {
		p := values + "[" + strconv.Itoa(j) + "]"
		if r.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && code == 0 {
			v.add(p, "must not be 0 for the In operator, got 0")
		}
		if seen[code] {
			v.add(p, fmt.Sprintf("Duplicate value: %d", code))
		}
		seen[code] = true
		if j > 0 && r.Values[j-1] > code {
			ordered = false
		}
	}
	if !ordered {
		v.add(values, fmt.Sprintf("must be ordered, got %v", r.Values))
	}
}

var conditionStatuses = []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}

func validateOnPodConditions(v *validator, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, path string) {
	if n := len(patterns); n > maxOnPodConditionsPatterns {
		v.add(path, tooMany(maxOnPodConditionsPatterns, n))
	}
	for j, pat := range patterns {
		p := path + "[" + strconv.Itoa(j) + "]"
		if pat.Type == "" {
			v.add(p+".type", required(""))
		} else {
			v.invalid(p+".type", string(pat.Type), validation.IsQualifiedName(string(pat.Type)))
		}
		// Defaults fills an empty status with True, as the API server does
		// before validating; validate.go checks the manifest as written.
		if pat.Status != "" && !slices.Contains(conditionStatuses, pat.Status) {
			v.add(p+".status", unsupported(pat.Status, conditionStatuses...))
		}
	}
}

func validateSuccessPolicy(v *validator, s *batchv1.JobSpec) {
	const rules = "spec.successPolicy.rules"
	n := len(s.SuccessPolicy.Rules)
	if n == 0 {
		v.add(rules, required("at least one rules must be specified when the successPolicy is specified"))
	}
	if n > maxSuccessPolicyRules {
		v.add(rules, tooMany(maxSuccessPolicyRules, n))
	}
	for i, r := range s.SuccessPolicy.Rules {
		path := rules + "[" + strconv.Itoa(i) + "]"
		if r.SucceededCount == nil && r.SucceededIndexes == nil {
			v.add(path, required("at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if r.SucceededIndexes != nil {
			p := path + ".succeededIndexes"
			if len(*r.SucceededIndexes) > maxSucceededIndexesLength {
				v.add(p, fmt.Sprintf("Too long: may not be more than %d bytes", maxSucceededIndexesLength))
			}
			var err error
			if total, err = indexesTotal(*r.SucceededIndexes, *s.Completions); err != nil {
				v.add(p, "error parsing succeededIndexes: "+err.Error()+", got "+quoteValue(*r.SucceededIndexes))
			}
		}
		if c := r.SucceededCount; c != nil {
			p := path + ".succeededCount"
			nonNegative(v, p, c)
			if *c > *s.Completions {
				v.add(p, fmt.Sprintf("must be less than or equal to %d (the number of specified completions), got %d", *s.Completions, *c))
			}
			if r.SucceededIndexes != nil && *c > total {
				v.add(p, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field), got %d", total, *c))
			}
		}
	}
}

// indexesTotal is validation.go's validateIndexesFormat: "1,3-5" with
// increasing indexes below completions; it returns how many it names.
func indexesTotal(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var last *int32
	var total int32
	for _, part := range strings.Split(s, ",") {
		x, y, err := indexInterval(part, completions)
		if err != nil {
			return 0, err
		}
		if last != nil && *last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", *last, x)
		}
		total += y - x + 1
		last = &y
	}
	return total, nil
}

func indexInterval(s string, completions int32) (int32, int32, error) {
	limits := strings.Split(s, "-")
	if len(limits) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	x, err := strconv.Atoi(limits[0])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limits[0])
	}
	if x >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", limits[0])
	}
	if len(limits) == 1 {
		return int32(x), int32(x), nil
	}
	y, err := strconv.Atoi(limits[1])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limits[1])
	}
	if y >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", limits[1])
	}
	if x >= y {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
	}
	return int32(x), int32(y), nil
}

func validatePodReplacementPolicy(v *validator, s *batchv1.JobSpec) {
	p := s.PodReplacementPolicy
	if p == nil {
		return
	}
	if s.PodFailurePolicy != nil {
		if *p != batchv1.Failed {
			v.add("spec.podReplacementPolicy", unsupported(*p, batchv1.Failed))
		}
		return
	}
	if *p != batchv1.Failed && *p != batchv1.TerminatingOrFailed {
		v.add("spec.podReplacementPolicy", unsupported(*p, batchv1.Failed, batchv1.TerminatingOrFailed))
	}
}

// quotedList is fmt's %q of a sorted string list, as Kubernetes words
// "valid values" hints: ["Count" "FailIndex"].
func quotedList[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, x := range values {
		s[i] = string(x)
	}
	return fmt.Sprintf("%q", s)
}
