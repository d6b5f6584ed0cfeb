//go:build linux

package scriptkubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// computePhase is the kubelet's getPhase (pkg/kubelet/kubelet_pods.go) for
// the containers a Job pod can have (no sidecars, no per-container restart
// rules), with the ContainerRestartRules gate on as in 1.36.
func (r *podRunner) computePhase(podIsTerminal bool) corev1.PodPhase {
	restartable := func(exit int32) bool { return r.spec.RestartPolicy == corev1.RestartPolicyOnFailure && exit != 0 }
	pendingInit, failedInit := 0, 0
	for _, c := range r.inits {
		switch c.state {
		case created, running:
			pendingInit++
		case terminated, backingOff:
			if c.exit != 0 && !restartable(c.exit) {
				failedInit++
			}
		}
	}
	if failedInit > 0 {
		return corev1.PodFailed
	}
	nRunning, waiting, stopped, stoppedForGood, succeeded := 0, 0, 0, 0, 0
	for _, c := range r.mains {
		switch c.state {
		case created:
			waiting++
		case running:
			nRunning++
		case terminated, backingOff:
			stopped++
			if !restartable(c.exit) {
				stoppedForGood++
			}
			if c.state == terminated && c.exit == 0 {
				succeeded++
			}
		}
	}
	switch {
	case pendingInit > 0 || waiting > 0:
		return corev1.PodPending
	case nRunning > 0:
		return corev1.PodRunning
	case stopped > 0:
		if !podIsTerminal && stopped != stoppedForGood {
			return corev1.PodRunning // restarting in place
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}

func (c *ctr) containerID(r *podRunner) string {
	return fmt.Sprintf("scripted://%s/%s/%d", r.uid, c.spec.Name, c.gen)
}

func (c *ctr) terminatedState(r *podRunner) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{ExitCode: c.exit, Reason: c.reason, Message: c.message}
	if !c.started.IsZero() {
		t.StartedAt, t.FinishedAt, t.ContainerID = metav1.NewTime(c.started), metav1.NewTime(c.finished), c.containerID(r)
	}
	return t
}

func (r *podRunner) containerStatus(c *ctr) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{
		Name: c.spec.Name, Image: c.spec.Image, ImageID: "scripted://" + c.spec.Image,
		RestartCount: c.restarts, Started: ptr.To(c.state == running),
	}
	if c.gen > 0 {
		cs.ContainerID = c.containerID(r)
	}
	switch c.state {
	case created:
		reason := "ContainerCreating"
		if len(r.inits) > 0 {
			reason = "PodInitializing"
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
	case running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.started)}
		cs.Ready = !c.init
	case terminated:
		cs.State.Terminated = c.terminatedState(r)
	case backingOff:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: c.waitMsg}
		cs.LastTerminationState.Terminated = c.terminatedState(r)
	}
	if c.state != backingOff && c.last != nil {
		cs.LastTerminationState.Terminated = c.last
	}
	return cs
}

func (r *podRunner) setCond(t corev1.PodConditionType, s corev1.ConditionStatus, reason, msg string) {
	c := r.conds[t]
	if c == nil || c.Status != s {
		c = &corev1.PodCondition{Type: t, LastTransitionTime: metav1.Now()}
		r.conds[t] = c
	}
	c.Status, c.Reason, c.Message = s, reason, msg
}

// status is the pod status the kubelet would report now.
func (r *podRunner) status() *corev1.PodStatus {
	phase := r.phase
	if !r.terminal {
		// A terminal phase waits until no container can run any more
		// (status manager mergePodStatus); finishTermination decides it.
		if phase = r.computePhase(false); phase == corev1.PodSucceeded || phase == corev1.PodFailed {
			phase = corev1.PodRunning
		}
	}
	st := &corev1.PodStatus{
		Phase:     phase,
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     r.ip,
		PodIPs:    []corev1.PodIP{{IP: r.ip}},
		StartTime: ptr.To(metav1.NewTime(r.startTime)),
	}
	if r.terminal {
		st.Reason, st.Message = r.reason, r.msg
	}
	var unready, uninit []string
	for _, c := range r.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, r.containerStatus(c))
		if !(c.state == terminated && c.exit == 0) {
			uninit = append(uninit, c.spec.Name)
		}
	}
	for _, c := range r.mains {
		st.ContainerStatuses = append(st.ContainerStatuses, r.containerStatus(c))
		if c.state != running {
			unready = append(unready, c.spec.Name)
		}
	}
	sort.Slice(st.ContainerStatuses, func(i, j int) bool { return st.ContainerStatuses[i].Name < st.ContainerStatuses[j].Name })

	r.setCond(corev1.PodReadyToStartContainers, boolStatus(!r.terminal), "", "")
	if len(uninit) == 0 {
		r.setCond(corev1.PodInitialized, corev1.ConditionTrue, "", "")
	} else {
		r.setCond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized", "containers with incomplete status: ["+strings.Join(uninit, " ")+"]")
	}
	readyReason, readyMsg := "", ""
	switch {
	case phase == corev1.PodSucceeded:
		readyReason = "PodCompleted"
	case phase == corev1.PodFailed:
		readyReason = "PodFailed"
	case len(unready) > 0:
		readyReason, readyMsg = "ContainersNotReady", "containers with unready status: ["+strings.Join(unready, " ")+"]"
	}
	ready := boolStatus(readyReason == "")
	r.setCond(corev1.ContainersReady, ready, readyReason, readyMsg)
	r.setCond(corev1.PodReady, ready, readyReason, readyMsg)
	r.setCond(corev1.PodScheduled, corev1.ConditionTrue, "", "")
	if r.disruption && r.terminal {
		r.setCond(corev1.DisruptionTarget, corev1.ConditionTrue, "TerminationByKubelet", r.msg)
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady,
		corev1.ContainersReady, corev1.PodScheduled, corev1.DisruptionTarget} {
		if c := r.conds[t]; c != nil {
			st.Conditions = append(st.Conditions, *c)
		}
	}
	return st
}

func boolStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func statusEqual(a, b *corev1.PodStatus) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// patchStatus writes st as the kubelet does: a strategic merge patch of the
// status subresource, with the pod's UID as a precondition. Conditions merge
// by type, so those others set (DisruptionTarget from an eviction) stay.
func (k *Kubelet) patchStatus(r *podRunner, st *corev1.PodStatus) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": r.uid}, "status": st})
	if err != nil {
		return err
	}
	wait := 100 * time.Millisecond
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(k.ctx, 30*time.Second)
		err = k.c.Patch(ctx, r.ns, "pods", r.name, "status", types.StrategicMergePatchType, body)
		cancel()
		if err == nil || apierrors.IsNotFound(err) || k.ctx.Err() != nil || try == 8 {
			return err
		}
		time.Sleep(wait) // a retry after an API error; nothing to watch for
		wait *= 2
	}
}

// deletePod is the kubelet's final delete of a pod it has finished
// terminating: grace 0, only this incarnation of the name.
func (k *Kubelet) deletePod(ctx context.Context, r *podRunner) error {
	err := k.c.Delete(ctx, r.ns, "pods", r.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: ptr.To(r.uid)},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
