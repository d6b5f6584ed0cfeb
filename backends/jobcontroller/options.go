package jobcontroller

import "time"

// Kubernetes' delays: the Job controller's pod failure backoff
// (job_controller.go DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff)
// and the kubelet's crash-loop backoff (kubelet.go initialCrashLoopBackOff,
// MaxContainerBackOff) with the window after which a container that ran
// long enough starts again from the first delay (kubelet.go HasExpiredFunc).
const (
	DefaultPodBackoff          = 10 * time.Second
	DefaultPodBackoffCap       = 10 * time.Minute
	DefaultRestartBackoff      = 10 * time.Second
	DefaultRestartBackoffCap   = 300 * time.Second
	DefaultRestartBackoffReset = 600 * time.Second
)

// NoDelay, as an Options delay, means none at all; zero means Kubernetes'.
const NoDelay time.Duration = -1

// Options tune a Machine. Zero values are Kubernetes' behaviour.
type Options struct {
	// PodBackoff is the delay before a failed pod is replaced, doubling per
	// consecutive failure up to PodBackoffCap.
	PodBackoff, PodBackoffCap time.Duration
	// RestartBackoff is the kubelet's delay before the second in-place restart
	// of a container (the first is immediate), doubling up to
	// RestartBackoffCap; a run longer than RestartBackoffReset starts over.
	RestartBackoff, RestartBackoffCap, RestartBackoffReset time.Duration
	// NamePod names a new pod of completion index (-1: NonIndexed). Names
	// must be unique within the job. Nil: Kubernetes' generated form
	// (job-xxxxx, job-2-xxxxx) with a deterministic suffix.
	NamePod func(index int32) string
	// HoldPod, when set, is asked before each pod the controller would
	// create now, of completion index (-1: NonIndexed): held, the pod is
	// not created, and the controller tries again at until (zero: at its
	// next input). A driver replaying a history in which pods were created
	// later than the controller asks (another platform decided the timing)
	// holds them until then. Nil: pods are created when Kubernetes would.
	HoldPod func(index int32, now time.Time) (until time.Time, held bool)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&o.PodBackoff, DefaultPodBackoff)
	def(&o.PodBackoffCap, DefaultPodBackoffCap)
	def(&o.RestartBackoff, DefaultRestartBackoff)
	def(&o.RestartBackoffCap, DefaultRestartBackoffCap)
	def(&o.RestartBackoffReset, DefaultRestartBackoffReset)
	return o
}
