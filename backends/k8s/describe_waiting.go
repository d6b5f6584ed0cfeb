package k8s

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// waiting is why one pod of a job does not run yet.
type waiting struct {
	pod     string // "pod NAME", or "pod NAME/CONTAINER" when it has several
	reason  string
	message string
	// stuck: a condition that does not pass by itself (an image that cannot
	// be pulled, a crash loop, no node that fits), as opposed to the
	// ordinary steps of a start (ContainerCreating, PodInitializing).
	stuck bool
}

func (w waiting) String() string {
	s := w.pod + ": " + w.reason
	if w.message != "" {
		s += ": " + w.message
	}
	return s
}

// normalStart are the waiting reasons of a container on its ordinary way to
// running.
var normalStart = map[string]bool{"ContainerCreating": true, "PodInitializing": true}

// podWaiting says why p does not run: its scheduling condition, else the
// first container (init containers first) that waits. ok is false for a pod
// that runs, has finished or is being deleted.
func podWaiting(p *corev1.Pod) (w waiting, ok bool) {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return w, false
	}
	name := "pod " + p.Name
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return waiting{pod: name, reason: orElse(c.Reason, "Unschedulable"), message: oneLine(c.Message), stuck: true}, true
		}
	}
	several := len(p.Spec.InitContainers)+len(p.Spec.Containers) > 1
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for i, cs := range statuses {
		wt := cs.State.Waiting
		if i < len(p.Status.InitContainerStatuses) && wt == nil {
			// An init container on its way: the containers after it
			// only wait for it (PodInitializing), so it is the reason.
			wt = initWaiting(cs)
		}
		if wt == nil {
			continue
		}
		w := waiting{pod: name, reason: orElse(wt.Reason, "Waiting"), message: oneLine(wt.Message), stuck: !normalStart[wt.Reason]}
		if several {
			w.pod += "/" + cs.Name
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			last := fmt.Sprintf("last run exited %d", t.ExitCode)
			if t.Reason != "" {
				last += " (" + t.Reason + ")"
			}
			if w.message != "" {
				last = "; " + last
			}
			w.message += last
		}
		return w, true
	}
	if len(p.Status.ContainerStatuses) == 0 {
		msg := "not started yet"
		if p.Spec.NodeName != "" {
			msg = "scheduled to " + p.Spec.NodeName + ", not started yet"
		}
		return waiting{pod: name, reason: "Pending", message: msg}, true
	}
	return w, false
}

// initWaiting is what an init container that is not waiting holds its pod
// up with, as kubectl's STATUS column puts it: Init:Error between a failed
// run and its restart (stuck), Init:Running while it runs (stuck once it
// has failed before: a crash loop). nil once it completed.
func initWaiting(cs corev1.ContainerStatus) *corev1.ContainerStateWaiting {
	switch t := cs.State.Terminated; {
	case t != nil && t.ExitCode == 0:
		return nil
	case t != nil:
		return &corev1.ContainerStateWaiting{Reason: "Init:" + orElse(t.Reason, "Error"), Message: fmt.Sprintf("exited %d", t.ExitCode)}
	case cs.State.Running != nil && cs.RestartCount > 0:
		return &corev1.ContainerStateWaiting{Reason: "Init:Running", Message: fmt.Sprintf("restarted %d times", cs.RestartCount)}
	case cs.State.Running != nil:
		return &corev1.ContainerStateWaiting{Reason: "PodInitializing", Message: "init container running"}
	}
	return nil
}

// explainWaiting says why a job's pods do not run, for the status message:
// "waiting: pod X: ImagePullBackOff: Back-off pulling image …", the most
// telling pod first (one that is stuck, in pod order), and how many more
// wait. With the pods' events (describe), a pod on its ordinary way that
// has a warning event (FailedMount, FailedCreatePodSandBox…) is explained
// by its latest warning. "" when every unfinished pod runs.
func explainWaiting(pods []corev1.Pod, events map[string][]corev1.Event) string {
	var best *waiting
	n := 0
	for i := range pods {
		w, ok := podWaiting(&pods[i])
		if !ok {
			continue
		}
		if !w.stuck && events != nil {
			if e := latestWarning(events[pods[i].Name]); e != nil {
				w.reason, w.message, w.stuck = e.Reason, oneLine(e.Message), true
			}
		}
		n++
		if best == nil || (w.stuck && !best.stuck) {
			best = &w
		}
	}
	if best == nil {
		return ""
	}
	s := "waiting: " + best.String()
	if n > 1 {
		s += fmt.Sprintf(" (and %d more %s waiting)", n-1, plural(n-1, "pod", "pods"))
	}
	return s
}

// latestWarning is a pod's most recent Warning event, nil if none. The
// kubelet's notices that it falls back from cluster DNS are not a reason.
func latestWarning(events []corev1.Event) *corev1.Event {
	var out *corev1.Event
	for i := range events {
		e := &events[i]
		if e.Type != corev1.EventTypeWarning || e.Reason == "MissingClusterDNS" {
			continue
		}
		if out == nil || eventTime(*e).After(eventTime(*out)) {
			out = e
		}
	}
	return out
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// oneLine keeps a message on one line of the status.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
