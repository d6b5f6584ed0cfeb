package jobspec

import (
	"math"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Defaults returns a deep copy of job with the defaults the Kubernetes 1.36
// API server applies on create (pkg/apis/batch/v1 SetObjectDefaults_Job:
// SetDefaults_Job, then SetDefaults_PodSpec and SetDefaults_Container for the
// template), limited to the fields a Job's behaviour depends on or that a
// user sees in `kubectl get job -o yaml`. Volumes and probes keep their
// values as written. The neutral model in Job keeps its own defaults.
func Defaults(job *batchv1.Job) *batchv1.Job {
	o := job.DeepCopy()
	s := &o.Spec
	// SetDefaults_Job: leaving both unset means one pod; leaving only
	// completions unset is the work-queue mode and stays unset.
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptr[int32](1)
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr[int32](1)
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			// Per-index limits replace the global one, which then never trips.
			s.BackoffLimit = ptr[int32](math.MaxInt32)
		} else {
			s.BackoffLimit = ptr[int32](DefaultBackoffLimit)
		}
	}
	if len(o.Labels) == 0 && s.Template.Labels != nil {
		o.Labels = s.Template.Labels
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptr(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	// JobPodReplacementPolicy is GA (locked on) in 1.36.
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptr(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptr(batchv1.TerminatingOrFailed)
		}
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptr(false)
	}
	if p := s.PodFailurePolicy; p != nil {
		for i := range p.Rules {
			for j := range p.Rules[i].OnPodConditions {
				if c := &p.Rules[i].OnPodConditions[j]; c.Status == "" {
					c.Status = corev1.ConditionTrue
				}
			}
		}
	}
	podSpecDefaults(&s.Template.Spec)
	return o
}

// podSpecDefaults is SetDefaults_PodSpec and, per container,
// SetDefaults_Container with the generated port and fieldRef defaults.
func podSpecDefaults(ps *corev1.PodSpec) {
	if ps.DNSPolicy == "" {
		ps.DNSPolicy = corev1.DNSClusterFirst
	}
	// A Job must say OnFailure or Never; Always is what Kubernetes fills in,
	// and validation then refuses it.
	if ps.RestartPolicy == "" {
		ps.RestartPolicy = corev1.RestartPolicyAlways
	}
	if ps.SecurityContext == nil {
		ps.SecurityContext = &corev1.PodSecurityContext{}
	}
	if ps.TerminationGracePeriodSeconds == nil {
		ps.TerminationGracePeriodSeconds = ptr[int64](corev1.DefaultTerminationGracePeriodSeconds)
	}
	if ps.SchedulerName == "" {
		ps.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range ps.InitContainers {
		containerDefaults(&ps.InitContainers[i])
	}
	for i := range ps.Containers {
		containerDefaults(&ps.Containers[i])
	}
}

func containerDefaults(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = corev1.PullIfNotPresent
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
}

// imageTag is the tag parsers.ParseImageName finds: "latest" when the
// reference has neither tag nor digest, "" when it has only a digest.
func imageTag(image string) string {
	name, _, hasDigest := strings.Cut(image, "@")
	last := name[strings.LastIndexByte(name, '/')+1:]
	if i := strings.LastIndexByte(last, ':'); i >= 0 {
		return last[i+1:]
	}
	if hasDigest {
		return ""
	}
	return "latest"
}

func ptr[T any](v T) *T { return &v }
