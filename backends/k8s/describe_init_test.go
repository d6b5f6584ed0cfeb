package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
)

// A pod stopped by an init container shows it in its attempt, as kubectl
// shows it in the pod's status: Init:Error with the exit code, or the
// reason it waits for; a sidecar is not what the pod waits for.
func TestInitContainerAttempts(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	waitingMain := corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
	pod := func(phase corev1.PodPhase, inits ...corev1.ContainerStatus) *corev1.Pod {
		p := testPod("j-a", 1, phase, waitingMain)
		p.Spec.InitContainers = []corev1.Container{{Name: "sidecar", RestartPolicy: &always}, {Name: "fetch"}, {Name: "setup"}}
		p.Status.InitContainerStatuses = inits
		return &p
	}
	state := func(name string, s corev1.ContainerState) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: s}
	}
	done := corev1.ContainerState{Terminated: exited(0, "Completed")}
	killedSidecar := state("sidecar", corev1.ContainerState{Terminated: exited(137, "Error")})
	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		phase  backends.Phase
		exit   int32
		reason string
	}{
		{"failed", pod(corev1.PodFailed, killedSidecar, state("fetch", done), state("setup", corev1.ContainerState{Terminated: exited(1, "Error")})),
			backends.Failed, 1, "Init:Error"},
		{"no reason", pod(corev1.PodFailed, state("fetch", corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}})),
			backends.Failed, 2, "Init:ExitCode:2"},
		{"signal", pod(corev1.PodFailed, state("fetch", corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}})),
			backends.Failed, 137, "Init:Signal:9"},
		{"crash loop", pod(corev1.PodPending, state("fetch", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}})),
			backends.Pending, -1, "Init:CrashLoopBackOff"},
		{"running", pod(corev1.PodPending, state("fetch", corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})),
			backends.Pending, -1, "PodInitializing"},
		{"next in turn", pod(corev1.PodPending, state("fetch", done), state("setup", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}})),
			backends.Pending, -1, "PodInitializing"},
	} {
		a := currentAttempt(tc.pod, nil, 0)
		if a.Phase != tc.phase || ptrOr(a.ExitCode, -1) != tc.exit || a.Reason != tc.reason {
			t.Errorf("%s: attempt %s exit %d %q; want %s exit %d %q", tc.name, a.Phase, ptrOr(a.ExitCode, -1), a.Reason, tc.phase, tc.exit, tc.reason)
		}
	}
}
