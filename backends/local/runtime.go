package local

import (
	"time"

	"github.com/batchctl/batchctl/backends/jobcontroller"
)

// A runtime runs the containers of the supervisor's pods: processes on this
// machine (exec) or containers of a Docker daemon (docker). It only runs
// what it is told; every decision is the state machine's
// (backends/jobcontroller). Methods are called from the supervisor's loop
// and must not block it for long; callbacks may come from any goroutine.
type runtime interface {
	// baseEnv is the environment every container starts from, before the
	// manifest's env: exec's is the submitter's, docker's the image's (nil).
	baseEnv() []string
	// prepare sets up pod p before its first container starts.
	prepare(p *podRun) error
	// start starts one run of a container of p, its output appended to
	// logPath. It returns running true once the container runs; otherwise
	// it is started in the background, and started is called when it
	// runs. exited is called once, when it has ended and its output is in
	// the log, or when it could not start (without started: a waiting
	// reason such as ErrImagePull, or StartError). An error means it could
	// not start, and neither is called.
	start(p *podRun, c *containerSpec, logPath string, started func(time.Time), exited func(jobcontroller.Exit, time.Time)) (running bool, err error)
	// signal sends SIGTERM (SIGKILL when hard) to every process of p.
	signal(p *podRun, hard bool)
	// release removes what prepare made, once p has no process left.
	release(p *podRun)
	// survivors describes p's processes for a command that must stop them
	// if the supervisor dies (stopSurvivors).
	survivors(p *podRun) podRef
	// drain waits, at most timeout, until every output copier is done.
	drain(timeout time.Duration) bool
	// cleanup removes what must not outlive the job once its pods have all
	// ended (pods is every pod not yet removed), before the outcome is
	// written: a supervisor killed after that leaves no one to do it.
	cleanup(pods []*podRun)
	// close releases the rest, after the outcome is written.
	close(pods []*podRun)
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
	// docker is runtime docker's state of the pod.
	docker *dockerPod
}

// containerSpec is one container run as the runtime needs it: the plan's
// container with the pod's environment and argv worked out.
type containerSpec struct {
	plan    *ContainerPlan
	init    bool
	restart int32
	env     []string
	argv    []string // runtime exec: the process's argv
	path    string   // argv[0] resolved in the container's PATH
	pathErr error
	// command and args replace the image's ENTRYPOINT and CMD (runtime
	// docker), $(VAR) expanded; nil keeps the image's.
	command, args []string
}
