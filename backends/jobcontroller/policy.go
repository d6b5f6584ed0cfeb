package jobcontroller

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// matchPodFailurePolicy is pod_failure_policy.go's: for a failed pod, the
// FailJob message (nil unless a FailJob rule matched), whether the failure
// counts against the backoff limits (not for Ignore), and the action of the
// first matching rule (nil: none matched).
func (m *Machine) matchPodFailurePolicy(p *pod) (*string, bool, *batchv1.PodFailurePolicyAction) {
	pfp := m.job.Spec.PodFailurePolicy
	if pfp == nil {
		return nil, true, nil
	}
	for i, rule := range pfp.Rules {
		var msg string
		switch {
		case rule.OnExitCodes != nil:
			c := matchOnExitCodes(p, rule.OnExitCodes)
			if c == nil {
				continue
			}
			msg = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d",
				c.name, m.namespace(), p.name, c.cur.code, rule.Action, i)
		case rule.OnPodConditions != nil:
			c := matchOnPodConditions(p, rule.OnPodConditions)
			if c == nil {
				continue
			}
			msg = fmt.Sprintf("Pod %s/%s has condition %v matching %v rule at index %d",
				m.namespace(), p.name, c.Type, rule.Action, i)
		default:
			continue
		}
		action := rule.Action
		switch action {
		case batchv1.PodFailurePolicyActionIgnore:
			return nil, false, &action
		case batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionCount:
			return nil, true, &action
		case batchv1.PodFailurePolicyActionFailJob:
			return &msg, true, &action
		}
		// An unknown action matches nothing; the next rule is tried.
	}
	return nil, true, nil
}

// matchOnExitCodes looks at regular containers first, then init containers;
// only terminated containers with a non-zero code can match.
func matchOnExitCodes(p *pod, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *container {
	for _, cs := range [][]*container{p.ctrs, p.inits} {
		for _, c := range cs {
			if c.state != cTerminated || c.cur.code == 0 {
				continue
			}
			if req.ContainerName != nil && *req.ContainerName != c.name {
				continue
			}
			in := slices.Contains(req.Values, c.cur.code)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return c
			}
		}
	}
	return nil
}

func matchOnPodConditions(p *pod, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for _, c := range p.conditions() {
		for _, pat := range patterns {
			if c.Type == pat.Type && c.Status == pat.Status {
				return &c
			}
		}
	}
	return nil
}

// matchSuccessPolicy is success_policy.go's: the first rule met by the
// succeeded indexes.
func (m *Machine) matchSuccessPolicy(succeeded intervals) (string, bool) {
	sp := m.job.Spec.SuccessPolicy
	if sp == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range sp.Rules {
		met := false
		if rule.SucceededIndexes != nil {
			required := parseIntervals(*rule.SucceededIndexes, int(*m.job.Spec.Completions))
			if len(required) == 0 {
				continue
			}
			met = matchSucceededIndexes(required, succeeded, rule.SucceededCount)
		} else if rule.SucceededCount != nil {
			met = succeeded.total() >= int(*rule.SucceededCount)
		}
		if met {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// matchSucceededIndexes: every required index succeeded, or at least
// count of them.
func matchSucceededIndexes(required, succeeded intervals, count *int32) bool {
	contains := 0
	for r, s := 0, 0; r < len(required) && s < len(succeeded); {
		if overlap := min(required[r].last, succeeded[s].last) - max(required[r].first, succeeded[s].first) + 1; overlap > 0 {
			contains += overlap
		}
		switch {
		case succeeded[s].last < required[r].last:
			s++
		case succeeded[s].last > required[r].last:
			r++
		default:
			s++
			r++
		}
	}
	return contains == required.total() || (count != nil && contains >= int(*count))
}
