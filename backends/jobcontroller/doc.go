// Package jobcontroller decides, for one Job, what Kubernetes 1.36's Job
// controller and kubelet would do, as a pure and deterministic state machine.
//
// A driver runs the containers (processes, Docker) and feeds the machine
// what happened: container starts and exits, pods that finished stopping,
// disruptions, suspend and resume. The machine answers with actions (create
// a pod, start a container, stop or kill a pod) and keeps the Job's status
// as Kubernetes would show it. It does no I/O, starts no goroutines and never
// reads the clock: every input carries its time, and timers are data — the
// driver asks NextTimer and calls Tick when it is due.
//
// The controller half follows pkg/controller/job (syncJob, manageJob,
// trackJobStatusAndRemoveFinalizers, the backoff record, pod failure and
// success policies, indexes); the kubelet half follows what happens inside a
// pod: init containers in order, OnFailure restarts with the crash-loop
// backoff, the pod's activeDeadlineSeconds, phases (getPhase) and graceful
// termination. Comments name the Kubernetes function each rule comes from.
//
// Not modelled: sidecar (restartable init) containers, container restart
// rules, probes and readiness gates, pod scheduling, the controller's 1 s
// batching of pod events (the machine reacts at once), and the Ready count.
package jobcontroller
