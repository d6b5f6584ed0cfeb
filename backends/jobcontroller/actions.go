package jobcontroller

import "time"

// Exit is how a container run ended.
type Exit struct {
	Code int32
	// Reason is the kubelet's terminated reason: "" means Completed (code 0)
	// or Error; OOMKilled, StartError (a container that could not start,
	// code 128) and the like are kept. ErrImagePull, ImagePullBackOff,
	// ErrImageNeverPull, InvalidImageName, CreateContainerError and
	// CreateContainerConfigError mean the container never ran: it stays
	// waiting and the kubelet tries again later, as it does for images.
	Reason string
}

// Action is something the driver must do; TakeActions returns them in order.
type Action interface {
	PodName() string
	isAction()
}

// CreatePod: set up a pod; StartContainer actions follow.
type CreatePod struct {
	Pod   string
	Index *int32 // completion index (JOB_COMPLETION_INDEX) of Indexed jobs
}

// StartContainer: start one container of a pod, and report ContainerStarted
// then ContainerExited (or ContainerExited with StartError).
type StartContainer struct {
	Pod, Container string
	Init           bool
	// Restart counts the container's earlier runs in this pod (its
	// restartCount once started); 0 for the first.
	Restart int32
}

// StopPod: SIGTERM every process of the pod, report their exits, then
// PodTerminated once none is left. KillPod follows after Grace.
type StopPod struct {
	Pod   string
	Grace time.Duration
}

// KillPod: SIGKILL whatever is left of the pod.
type KillPod struct{ Pod string }

// RemovePod: the pod was deleted and has stopped; in Kubernetes its object
// is now gone. Its logs and attempts may be kept.
type RemovePod struct{ Pod string }

func (a CreatePod) PodName() string      { return a.Pod }
func (a StartContainer) PodName() string { return a.Pod }
func (a StopPod) PodName() string        { return a.Pod }
func (a KillPod) PodName() string        { return a.Pod }
func (a RemovePod) PodName() string      { return a.Pod }

func (CreatePod) isAction()      {}
func (StartContainer) isAction() {}
func (StopPod) isAction()        {}
func (KillPod) isAction()        {}
func (RemovePod) isAction()      {}
