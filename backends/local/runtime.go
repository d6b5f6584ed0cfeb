package local

import (
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller"
)

// A runtime runs the containers of the supervisor's pods: processes on this
// machine (exec) or, later, containers of a Docker daemon. It only runs
// what it is told; every decision is the state machine's
// (backends/jobcontroller). Methods are called from the supervisor's loop;
// an exit callback may come from any goroutine.
type runtime interface {
	// prepare sets up pod p before its first container starts.
	prepare(p *podRun) error
	// start starts one run of a container of p, its output appended to
	// logPath, and returns once it runs. exited is called once, when it
	// has ended and its output is in the log.
	start(p *podRun, c *containerSpec, logPath string, exited func(jobcontroller.Exit, time.Time)) error
	// signal sends SIGTERM (SIGKILL when hard) to every process of p.
	signal(p *podRun, hard bool)
	// release removes what prepare made, once p has no process left.
	release(p *podRun)
	// survivors describes p's processes for a command that must stop them
	// if the supervisor dies (stopSurvivors).
	survivors(p *podRun) podRef
}

// podRun is one pod the state machine created.
type podRun struct {
	name    string
	uid     string // the pod's own uid (metadata.uid)
	index   *int32
	running map[string]bool // containers with a live run
	// procs are the live container processes (exec), for survivors.
	procs map[string]procRef
	// jails are the cgroups of its containers (exec on Linux as root).
	jails    []string
	stopping bool // StopPod came: PodTerminated is due once nothing runs
	removed  bool
}

// containerSpec is one container run as the runtime needs it: the plan's
// container with the pod's environment and argv worked out.
type containerSpec struct {
	plan    *ContainerPlan
	init    bool
	restart int32
	env     []string
	argv    []string
	path    string // argv[0] resolved in the container's PATH
	pathErr error
}
