package jobspec

import (
	"math"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func parseObject(t *testing.T, manifest string) *batchv1.Job {
	t.Helper()
	j, err := Parse("t.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return j.Object
}

func TestDefaults(t *testing.T) {
	in := parseObject(t, helloJob)
	out := Defaults(in)
	s := out.Spec
	switch {
	case *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 2:
		t.Errorf("counts %d %d %d", *s.Completions, *s.Parallelism, *s.BackoffLimit)
	case *s.CompletionMode != batchv1.NonIndexedCompletion || *s.Suspend || *s.ManualSelector:
		t.Error("mode, suspend or manualSelector")
	case *s.PodReplacementPolicy != batchv1.TerminatingOrFailed:
		t.Errorf("podReplacementPolicy %s", *s.PodReplacementPolicy)
	case *s.Template.Spec.TerminationGracePeriodSeconds != 30 || s.Template.Spec.DNSPolicy != corev1.DNSClusterFirst ||
		s.Template.Spec.SchedulerName != "default-scheduler":
		t.Error("pod spec defaults")
	}
	c := s.Template.Spec.Containers[0]
	if c.ImagePullPolicy != corev1.PullIfNotPresent || c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("container defaults %+v", c)
	}
	if in.Spec.Completions != nil || in.Spec.Template.Spec.TerminationGracePeriodSeconds != nil {
		t.Error("the input was changed")
	}
}

func TestDefaultsDependOnOtherFields(t *testing.T) {
	j := parseObject(t, helloJob)
	j.Spec.BackoffLimit = nil
	j.Spec.Parallelism = ptr[int32](3) // work queue: completions stay unset
	j.Spec.BackoffLimitPerIndex = ptr[int32](1)
	j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}},
	}}}
	j.Spec.Template.Spec.Containers[0].Image = "busybox"
	s := Defaults(j).Spec
	if s.Completions != nil || *s.BackoffLimit != math.MaxInt32 || *s.PodReplacementPolicy != batchv1.Failed {
		t.Errorf("completions %v backoffLimit %d podReplacementPolicy %s", s.Completions, *s.BackoffLimit, *s.PodReplacementPolicy)
	}
	if got := s.PodFailurePolicy.Rules[0].OnPodConditions[0].Status; got != corev1.ConditionTrue {
		t.Errorf("pattern status %q", got)
	}
	if got := s.Template.Spec.Containers[0].ImagePullPolicy; got != corev1.PullAlways {
		t.Errorf("untagged image: %s", got)
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"busybox": "latest", "busybox:1.36": "1.36", "busybox:latest": "latest",
		"localhost:5000/x": "latest", "localhost:5000/x:2": "2", "x@sha256:abc": "", "x:1@sha256:abc": "1",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("%s: %q, want %q", image, got, want)
		}
	}
}
