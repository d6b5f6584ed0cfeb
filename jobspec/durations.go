package jobspec

import "time"

// Seconds is n seconds of a manifest field as Kubernetes 1.36 computes it:
// time.Duration(n) * time.Second, which wraps silently for |n| > 9223372036.
// Backends use it, wrap included, to agree with a real cluster. It mirrors:
//   - spec.activeDeadlineSeconds: pkg/controller/job/job_controller.go
//     pastActiveDeadline (see PastDeadline), syncJob and updateJob (requeue
//     delay). Validation only wants n >= 0, so 9223372037 is accepted and
//     wraps to -292 years: the controller fails the job, reason
//     DeadlineExceeded, at its first sync, before creating any pod.
//   - spec.ttlSecondsAfterFinished (an int32: never wraps):
//     pkg/controller/ttlafterfinished/ttlafterfinished_controller.go
//     getFinishAndExpireTime.
//   - spec.template.spec.activeDeadlineSeconds (validated to [1, MaxInt32]):
//     pkg/kubelet/active_deadline.go pastActiveDeadline.
//   - spec.template.spec.terminationGracePeriodSeconds (any int64; a negative
//     one counts as 1 on delete, pkg/registry/core/pod/strategy.go
//     CheckGracefulDelete): k8s.io/apiserver/pkg/registry/rest/delete.go
//     BeforeDelete (deletion timestamp), pkg/kubelet/kuberuntime waitForTurn
//     and executePreStopHook.
func Seconds(n int64) time.Duration {
	return time.Duration(n) * time.Second // wraps on overflow, as Kubernetes does
}

// PastDeadline is the Job controller's pastActiveDeadline (and the kubelet's
// for a pod): whether seconds counted from start have run out at now,
// now.Sub(start) >= Seconds(seconds). The controller checks it at every sync,
// before it creates pods.
func PastDeadline(seconds int64, start, now time.Time) bool {
	return now.Sub(start) >= Seconds(seconds)
}
