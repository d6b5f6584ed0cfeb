package local

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/jobcontroller"
)

// dockerRuntime runs each pod as containers of a Docker daemon, with
// Kubernetes' semantics: images pulled per imagePullPolicy, command and
// args replacing ENTRYPOINT and CMD, emptyDir and hostPath volumes, limits
// enforced, the pod's containers in one network and IPC namespace held by
// a pause container (see docker_pause.go). What to run and when is still
// the state machine's; this only runs, signals and reports. Every Docker
// object it makes carries the job's uid (labelJobUID), so what a lost
// supervisor leaves is found and removed (reapDocker).
type dockerRuntime struct {
	cli      *client.Client
	plan     *Plan
	uid      string // the job's
	job, ns  string
	sandbox  bool // pods need a pause container: several containers, or emptyDir volumes
	event    func(backends.Event)
	logDir   string
	bg       sync.WaitGroup // every goroutine started: runs, signals, removals
	imageMu  sync.Mutex
	images   map[string]*imageInfo // by reference, once inspected
	pulls    map[string]*sync.Mutex
	pauseMu  sync.Mutex
	pauseRef string
}

// Labels on every container and volume the runtime makes.
const (
	labelJobUID    = "batchctl.dev/job-uid"
	labelJob       = "batchctl.dev/job"
	labelNamespace = "batchctl.dev/namespace"
	labelPod       = "batchctl.dev/pod"
	labelContainer = "batchctl.dev/container" // "POD" for the pause container
)

// Timeouts of the daemon calls that should be quick; pulls and waits have
// none (they are cancelled with the pod).
const dockerCallTimeout = 2 * time.Minute

// dockerPod is a pod's containers, sandbox and volumes.
type dockerPod struct {
	p      *podRun
	ctx    context.Context // cancelled when the pod is stopped: image pulls stop
	cancel context.CancelFunc
	setup  sync.Mutex // serializes the sandbox's set-up

	mu       sync.Mutex // guards what follows
	ready    bool       // sandbox set up
	pauseID  string
	volumes  map[string]string // pod volume -> Docker volume
	runs     map[*dockerRun]bool
	stop     bool // SIGTERM asked
	kill     bool // SIGKILL asked
	released bool
	removals sync.WaitGroup // container removals in flight: volumes go after them
}

// dockerRun is one run of a container.
type dockerRun struct {
	id         string
	running    bool
	stopSignal string
}

// imageInfo is what a container needs of its image.
type imageInfo struct {
	user       string
	stopSignal string
}

// dockerClient connects to the daemon d names, TLS as DOCKER_TLS_VERIFY
// and DOCKER_CERT_PATH say. The API version is negotiated (1.41 and up).
func dockerClient(d *DockerPlan) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if d != nil && d.Host != "" {
		if strings.HasPrefix(d.Host, "ssh://") {
			return nil, fmt.Errorf("%s: ssh:// hosts need the Docker CLI's ssh helper, which batchctl does not run; forward the daemon's socket (ssh -L) and set DOCKER_HOST to it", d.Host)
		}
		opts = append(opts, client.WithHost(d.Host))
	}
	if d != nil && d.TLSDir != "" {
		opts = append(opts, client.WithTLSClientConfig(filepath.Join(d.TLSDir, "ca.pem"),
			filepath.Join(d.TLSDir, "cert.pem"), filepath.Join(d.TLSDir, "key.pem")))
	}
	return client.New(opts...)
}

func newDockerRuntime(rec *jobRecord, logDir string, event func(backends.Event)) (*dockerRuntime, error) {
	cli, err := dockerClient(rec.Plan.Docker)
	if err != nil {
		return nil, err
	}
	p := rec.Plan
	return &dockerRuntime{
		cli: cli, plan: p, uid: rec.UID, job: rec.Name, ns: rec.Namespace,
		sandbox: len(p.InitContainers)+len(p.Containers) > 1 || hasEmptyDir(p.Volumes),
		event:   event, logDir: logDir,
		images: map[string]*imageInfo{}, pulls: map[string]*sync.Mutex{},
	}, nil
}

func hasEmptyDir(vols []VolumePlan) bool {
	for _, v := range vols {
		if v.EmptyDir != nil {
			return true
		}
	}
	return false
}

// baseEnv: none. The image's ENV applies, then the manifest's env; the
// submitter's environment never reaches a container.
func (r *dockerRuntime) baseEnv() []string { return nil }

func (r *dockerRuntime) prepare(p *podRun) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.docker = &dockerPod{p: p, ctx: ctx, cancel: cancel, volumes: map[string]string{}, runs: map[*dockerRun]bool{}}
	return nil
}

func (r *dockerRuntime) labels(p *podRun, ctr string) map[string]string {
	return map[string]string{
		labelJobUID: r.uid, labelJob: r.job, labelNamespace: r.ns, labelPod: p.name, labelContainer: ctr,
		backends.ManagedByLabel: backends.ManagedByValue,
	}
}

// start runs the container in the background: sandbox, image, create,
// attach, start (then started), wait, and exited once its output is in
// the log. What fails before it runs is reported as the kubelet would: a
// waiting reason (ErrImagePull, CreateContainerError, ...) that the
// machine retries with its backoff, or StartError.
func (r *dockerRuntime) start(p *podRun, c *containerSpec, logPath string, started func(time.Time), exited func(jobcontroller.Exit, time.Time)) (bool, error) {
	dp := p.docker
	run := &dockerRun{}
	dp.mu.Lock()
	dp.runs[run] = true
	dp.mu.Unlock()
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		r.run(dp, run, c, logPath, started, exited)
	}()
	return false, nil
}

func (r *dockerRuntime) run(dp *dockerPod, run *dockerRun, c *containerSpec, logPath string, started func(time.Time), exited func(jobcontroller.Exit, time.Time)) {
	name := c.plan.Name
	fail := func(code int32, reason, msg string) {
		if msg != "" {
			writeLog(logPath, "batchctl: "+msg+"\n")
		}
		dp.forget(run)
		exited(jobcontroller.Exit{Code: code, Reason: reason}, time.Now())
	}
	// A pod stopped before its container ran: it never will.
	aborted := func() bool {
		dp.mu.Lock()
		defer dp.mu.Unlock()
		return dp.stop || dp.kill
	}
	never := func() { fail(137, "ContainerStatusUnknown", "") }

	if err := r.setupSandbox(dp); err != nil {
		if aborted() {
			never()
			return
		}
		r.warn(dp.p, "FailedCreatePodSandBox", "Failed to create pod sandbox: "+err.Error())
		fail(128, "CreateContainerError", "pod sandbox: "+err.Error())
		return
	}
	img, reason, err := r.image(dp.ctx, c.plan)
	if aborted() {
		never()
		return
	}
	if err != nil {
		at := time.Now()
		if reason == "ErrImagePull" {
			r.report(dp.p, at, "Warning", "Failed", fmt.Sprintf("Failed to pull image %q: %v", c.plan.Image, err))
			// The machine retries it with the image backoff: the kubelet's
			// ImagePullBackOff, said after the machine's Error: ErrImagePull.
			later := at.Add(time.Millisecond)
			r.report(dp.p, later, "Normal", "BackOff", fmt.Sprintf("Back-off pulling image %q", c.plan.Image))
			r.report(dp.p, later, "Warning", "Failed", "Error: ImagePullBackOff")
		} else {
			r.report(dp.p, at, "Warning", "Failed", err.Error())
		}
		writeLog(logPath, fmt.Sprintf("batchctl: container %s: image %s: %v\n", name, c.plan.Image, err))
		dp.forget(run)
		exited(jobcontroller.Exit{Code: 128, Reason: reason}, at)
		return
	}
	cfg, hc, err := r.containerConfig(dp, c, img)
	if err != nil {
		r.warn(dp.p, "Failed", "Error: "+err.Error())
		fail(128, "CreateContainerConfigError", fmt.Sprintf("container %s: %v", name, err))
		return
	}
	// Not cancelled with the pod: a container the daemon made after the
	// call was abandoned would be known to no one. It is removed below.
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	created, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc,
		Name: fmt.Sprintf("batchctl_%s_%s_%s_%d_%s", name, dp.p.name, r.ns, c.restart, randSuffix())})
	if err != nil {
		if aborted() {
			never()
			return
		}
		if cerrdefs.IsNotFound(err) { // the image went meanwhile: inspect (or pull) it again
			r.forgetImage(c.plan.Image)
		}
		r.warn(dp.p, "Failed", "Error: "+err.Error())
		fail(128, "CreateContainerError", fmt.Sprintf("container %s: %v", name, err))
		return
	}
	id := created.ID
	dp.mu.Lock()
	run.id, run.stopSignal = id, img.stopSignal
	dp.mu.Unlock()
	attach, err := r.cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		r.remove(dp, id)
		r.warn(dp.p, "Failed", "Error: "+err.Error())
		fail(128, "CreateContainerError", fmt.Sprintf("container %s: attach: %v", name, err))
		return
	}
	// Set up before the start, so that no exit is missed.
	waitCtx, stopWaiting := context.WithCancel(context.Background())
	defer stopWaiting()
	wait := r.cli.ContainerWait(waitCtx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		w := &containerLog{path: logPath}
		_, _ = stdcopy.StdCopy(w, w, attach.Reader)
		w.close()
	}()
	if aborted() {
		attach.Close()
		r.remove(dp, id)
		never()
		return
	}
	if _, err := r.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		attach.Close()
		<-copied
		r.remove(dp, id) // whether or not it started after all
		if aborted() {
			never()
			return
		}
		r.warn(dp.p, "Failed", "Error: "+err.Error())
		fail(128, "StartError", fmt.Sprintf("container %s: %v", name, err))
		return
	}
	at := time.Now()
	dp.mu.Lock()
	run.running = true
	sig := ""
	switch {
	case dp.kill:
		sig = "SIGKILL"
	case dp.stop:
		sig = run.signal()
	}
	dp.mu.Unlock()
	if sig != "" { // asked while it was being started
		r.kill(id, sig)
	}
	started(at)

	code, known := r.waitExit(id, wait)
	end := time.Now()
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		log.Printf("container %s/%s: output still open after exit; reporting the exit", dp.p.name, name)
		attach.Close()
	}
	attach.Close()
	exit := jobcontroller.Exit{Code: code}
	if !known {
		exit.Reason = "ContainerStatusUnknown"
	}
	// The daemon may learn of an OOM kill just after the exit (containerd
	// sends the two events apart): a SIGKILLed container with a memory
	// limit is asked again, briefly, before it is taken for anything else.
	_, limited := c.plan.Limits["memory"]
	for try := 0; ; try++ {
		ictx, icancel := context.WithTimeout(context.Background(), dockerCallTimeout)
		in, err := r.cli.ContainerInspect(ictx, id, client.ContainerInspectOptions{})
		icancel()
		if err != nil || in.Container.State == nil {
			break
		}
		st := in.Container.State
		if st.Status == container.StateExited || st.Status == container.StateDead {
			exit.Code, exit.Reason = int32(st.ExitCode), ""
		}
		if st.OOMKilled {
			exit.Reason = "OOMKilled"
		}
		if st.OOMKilled || !limited || exit.Code != 137 || try == 5 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.remove(dp, id)
	dp.forget(run)
	exited(exit, end)
}

// waitExit waits for the container's exit. If the daemon cannot say (a
// lost connection), it is asked again until the container is not running;
// known is false when its exit code could not be learnt.
func (r *dockerRuntime) waitExit(id string, wait client.ContainerWaitResult) (code int32, known bool) {
	select {
	case res := <-wait.Result:
		return int32(res.StatusCode), res.Error == nil || res.Error.Message == ""
	case err := <-wait.Error:
		log.Printf("waiting for container %s: %v", id, err)
	}
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
		in, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		cancel()
		switch {
		case cerrdefs.IsNotFound(err):
			return 137, false
		case err == nil && in.Container.State != nil && !in.Container.State.Running:
			return int32(in.Container.State.ExitCode), true
		}
		time.Sleep(delay)
	}
}

// signal is the container's stop signal: its image's STOPSIGNAL, as the
// container runtime of a kubelet uses it, else SIGTERM.
func (run *dockerRun) signal() string {
	if run.stopSignal != "" {
		return run.stopSignal
	}
	return "SIGTERM"
}

func (dp *dockerPod) forget(run *dockerRun) {
	dp.mu.Lock()
	delete(dp.runs, run)
	dp.mu.Unlock()
}

// signal sends SIGTERM (the image's stop signal), or SIGKILL when hard, to
// every running container of p; one being started gets it once it runs,
// one not yet created never runs.
func (r *dockerRuntime) signal(p *podRun, hard bool) {
	dp := p.docker
	if dp == nil {
		return
	}
	dp.mu.Lock()
	if hard {
		dp.kill = true
	} else {
		dp.stop = true
	}
	type target struct{ id, sig string }
	var ts []target
	for run := range dp.runs {
		if run.running {
			sig := "SIGKILL"
			if !hard {
				sig = run.signal()
			}
			ts = append(ts, target{run.id, sig})
		}
	}
	dp.mu.Unlock()
	dp.cancel() // a pull in flight stops
	for _, t := range ts {
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			r.kill(t.id, t.sig)
		}()
	}
}

func (r *dockerRuntime) kill(id, sig string) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	_, err := r.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: sig})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) { // gone, or not running any more
		log.Printf("kill -%s container %s: %v", sig, id, err)
	}
}

// remove removes a container that has ended, in the background; the pod's
// volumes wait for it (release).
func (r *dockerRuntime) remove(dp *dockerPod, id string) {
	dp.removals.Add(1)
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		defer dp.removals.Done()
		r.removeContainer(id)
	}()
}

func (r *dockerRuntime) removeContainer(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		log.Printf("remove container %s: %v", id, err)
	}
}

// release removes the pod's pause container and volumes once its
// containers are removed. It runs once per pod, in the background.
func (r *dockerRuntime) release(p *podRun) {
	dp := p.docker
	if dp == nil {
		return
	}
	dp.mu.Lock()
	if dp.released {
		dp.mu.Unlock()
		return
	}
	dp.released = true
	dp.mu.Unlock()
	dp.cancel()
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		dp.removals.Wait()
		dp.setup.Lock() // a set-up cannot be under way (nothing runs), but never race one
		defer dp.setup.Unlock()
		dp.mu.Lock()
		pause, vols := dp.pauseID, dp.volumes
		dp.pauseID, dp.volumes = "", map[string]string{}
		dp.mu.Unlock()
		if pause != "" {
			r.removeContainer(pause)
		}
		for _, v := range vols {
			r.removeVolume(v)
		}
	}()
}

func (r *dockerRuntime) removeVolume(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	if _, err := r.cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		log.Printf("remove volume %s: %v", name, err)
	}
}

// survivors: the containers are found by label (reapDocker), not by pid.
func (r *dockerRuntime) survivors(p *podRun) podRef { return podRef{Name: p.name} }

// drain: exits are reported once the output is in the log.
func (r *dockerRuntime) drain(time.Duration) bool { return true }

// close: cleanup removed everything; only the connection is left.
func (r *dockerRuntime) close([]*podRun) { r.cli.Close() }

// cleanup releases every pod, waits for the removals, then removes
// whatever else carries the job's label (there should be nothing).
func (r *dockerRuntime) cleanup(pods []*podRun) {
	for _, p := range pods {
		r.release(p)
	}
	done := make(chan struct{})
	go func() { r.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(dockerCallTimeout):
		log.Print("some Docker calls are still under way; removing the job's containers by label")
	}
	if err := reapDocker(context.Background(), r.cli, r.uid); err != nil {
		log.Print(err)
	}
}

// warn reports a warning about pod p, as the kubelet would.
func (r *dockerRuntime) warn(p *podRun, reason, msg string) {
	r.report(p, time.Now(), "Warning", reason, msg)
}

func (r *dockerRuntime) report(p *podRun, at time.Time, typ, reason, msg string) {
	log.Printf("pod %s: %s: %s", p.name, reason, msg)
	r.event(backends.Event{Time: at, Type: typ, Reason: reason, Object: "Pod/" + p.name, Message: msg})
}

// setupSandbox makes the pod's volumes and, where the pod needs one, its
// pause container: the network and IPC namespaces its containers join,
// with every emptyDir mounted so that a Memory one keeps its content while
// no other container runs. What it made is kept on failure (release
// removes it) and the next start tries again.
func (r *dockerRuntime) setupSandbox(dp *dockerPod) error {
	dp.setup.Lock()
	defer dp.setup.Unlock()
	dp.mu.Lock()
	ready := dp.ready
	dp.mu.Unlock()
	if ready {
		return nil
	}
	// Calls are not cancelled with the pod (see run); only pulls are.
	ctx, cancel := context.WithTimeout(context.Background(), dockerCallTimeout)
	defer cancel()
	var mounts []mount.Mount
	for _, v := range r.plan.Volumes {
		if v.EmptyDir == nil {
			continue
		}
		dp.mu.Lock()
		name, made := dp.volumes[v.Name]
		dp.mu.Unlock()
		if !made {
			name = "batchctl-" + dp.p.uid + "-" + v.Name
			opts := client.VolumeCreateOptions{Name: name, Driver: "local", Labels: r.labels(dp.p, "POD")}
			if v.EmptyDir.Medium == "Memory" {
				o := "mode=0777"
				if v.EmptyDir.SizeLimit != "" {
					q, err := resource.ParseQuantity(v.EmptyDir.SizeLimit)
					if err != nil {
						return fmt.Errorf("volume %s: sizeLimit: %v", v.Name, err)
					}
					o += ",size=" + strconv.FormatInt(q.Value(), 10)
				}
				opts.DriverOpts = map[string]string{"type": "tmpfs", "device": "tmpfs", "o": o}
			}
			if _, err := r.cli.VolumeCreate(ctx, opts); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			dp.mu.Lock()
			dp.volumes[v.Name] = name
			dp.mu.Unlock()
		}
		if len(mounts) == pauseMountPoints {
			return fmt.Errorf("more than %d emptyDir volumes", pauseMountPoints)
		}
		// Mounted over one of the pause image's empty 0777 directories, so
		// that the daemon gives the new volume that mode, as Kubernetes
		// makes an emptyDir writable by all.
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: pauseMountPoint(len(mounts))})
	}
	if r.sandbox {
		ref, err := r.pauseImage(ctx)
		if err != nil {
			return err
		}
		dp.mu.Lock()
		failed := dp.pauseID // made by an attempt that failed to start it
		dp.pauseID = ""
		dp.mu.Unlock()
		if failed != "" {
			r.removeContainer(failed)
		}
		created, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:   fmt.Sprintf("batchctl_POD_%s_%s_%s", dp.p.name, r.ns, randSuffix()),
			Config: &container.Config{Image: ref, Hostname: podHostname(dp.p.name), Labels: r.labels(dp.p, "POD")},
			HostConfig: &container.HostConfig{IpcMode: container.IPCModeShareable, Mounts: mounts,
				LogConfig: container.LogConfig{Type: "none"}},
		})
		if err != nil {
			return err
		}
		dp.mu.Lock()
		dp.pauseID = created.ID
		dp.mu.Unlock()
		if _, err := r.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
			return err
		}
	}
	dp.mu.Lock()
	dp.ready = true
	dp.mu.Unlock()
	return nil
}

// podHostname is the pod's name as Kubernetes makes it its hostname.
func podHostname(pod string) string {
	if len(pod) > 63 {
		pod = strings.TrimRight(pod[:63], "-.")
	}
	return pod
}

// containerConfig is the container as the kubelet would create it.
func (r *dockerRuntime) containerConfig(dp *dockerPod, c *containerSpec, img *imageInfo) (*container.Config, *container.HostConfig, error) {
	pc := c.plan
	user, err := containerUser(pc.Security, img.user)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image: pc.Image, Env: c.env, Entrypoint: c.command, Cmd: c.args, WorkingDir: pc.WorkingDir, User: user,
		Labels: r.labels(dp.p, pc.Name), AttachStdout: true, AttachStderr: true,
	}
	hc := &container.HostConfig{LogConfig: container.LogConfig{Type: "none"}}
	dp.mu.Lock()
	pause, vols := dp.pauseID, dp.volumes
	for _, m := range pc.Mounts {
		for _, v := range r.plan.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.EmptyDir != nil:
				// Empty, as Kubernetes makes it: the image's files at the
				// mount path are not copied in.
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: vols[v.Name], Target: m.MountPath,
					ReadOnly: m.ReadOnly, VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
			case v.HostPath.Type == "" || v.HostPath.Type == "DirectoryOrCreate":
				// Binds create a missing directory, as the kubelet does.
				bind := v.HostPath.Path + ":" + m.MountPath
				if m.ReadOnly {
					bind += ":ro"
				}
				hc.Binds = append(hc.Binds, bind)
			default:
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: v.HostPath.Path, Target: m.MountPath, ReadOnly: m.ReadOnly})
			}
		}
	}
	dp.mu.Unlock()
	if pause != "" {
		hc.NetworkMode = container.NetworkMode("container:" + pause)
		hc.IpcMode = container.IpcMode("container:" + pause)
	} else {
		cfg.Hostname = podHostname(dp.p.name)
	}
	if s := pc.Security; s != nil {
		hc.ReadonlyRootfs, hc.Privileged = s.ReadOnlyRootFilesystem, s.Privileged
		hc.CapAdd, hc.CapDrop = s.CapAdd, s.CapDrop
		if s.NoNewPrivileges {
			hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges:true")
		}
		if s.SeccompUnconfined {
			hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
		}
		for _, g := range s.SupplementalGroups {
			hc.GroupAdd = append(hc.GroupAdd, strconv.FormatInt(g, 10))
		}
	}
	if err := limits(&hc.Resources, pc); err != nil {
		return nil, nil, err
	}
	return cfg, hc, nil
}

// limits sets what the kubelet gives the container's cgroup: the CPU limit
// as a CFS quota, the memory limit (no swap beyond it), and CPU shares
// from the request (which defaults to the limit).
func limits(res *container.Resources, c *ContainerPlan) error {
	if v, ok := c.Limits["memory"]; ok {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("resources.limits.memory: %v", err)
		}
		res.Memory, res.MemorySwap = q.Value(), q.Value()
	}
	if v, ok := c.Limits["cpu"]; ok {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("resources.limits.cpu: %v", err)
		}
		res.NanoCPUs = q.MilliValue() * 1e6
	}
	req, ok := c.Requests["cpu"]
	if !ok {
		req, ok = c.Limits["cpu"]
	}
	if ok {
		q, err := resource.ParseQuantity(req)
		if err != nil {
			return fmt.Errorf("resources.requests.cpu: %v", err)
		}
		res.CPUShares = max(q.MilliValue()*1024/1000, 2) // MilliCPUToShares
	}
	return nil
}

// containerUser is the user the container runs as, and the kubelet's
// runAsNonRoot check (verifyRunAsNonRoot) against it.
func containerUser(s *SecurityPlan, imageUser string) (string, error) {
	user := ""
	if s != nil && s.RunAsUser != nil {
		user = strconv.FormatInt(*s.RunAsUser, 10)
	}
	if s != nil && s.RunAsGroup != nil {
		u := user
		if u == "" {
			u, _, _ = strings.Cut(imageUser, ":")
			if u == "" {
				u = "0"
			}
		}
		user = u + ":" + strconv.FormatInt(*s.RunAsGroup, 10)
	}
	if s == nil || !s.RunAsNonRoot {
		return user, nil
	}
	if s.RunAsUser != nil {
		if *s.RunAsUser == 0 {
			return "", errors.New("container's runAsUser breaks non-root policy")
		}
		return user, nil
	}
	name, _, _ := strings.Cut(imageUser, ":")
	uid, err := strconv.ParseInt(name, 10, 64)
	switch {
	case name == "" || err == nil && uid == 0:
		return "", errors.New("container has runAsNonRoot and image will run as root")
	case err != nil:
		return "", fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root", name)
	}
	return user, nil
}

// image makes the container's image present as its pull policy says, and
// returns what the container needs of it; on failure, the kubelet's
// waiting reason. Pulls of one image are one at a time (the kubelet's
// serialized pulls), so that parallel pods pull it once.
func (r *dockerRuntime) image(ctx context.Context, c *ContainerPlan) (*imageInfo, string, error) {
	ref := c.Image
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return nil, "InvalidImageName", fmt.Errorf("Failed to apply default image tag %q: %v", ref, err)
	}
	r.imageMu.Lock()
	mu := r.pulls[ref]
	if mu == nil {
		mu = &sync.Mutex{}
		r.pulls[ref] = mu
	}
	r.imageMu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	policy := c.ImagePullPolicy
	if policy != "Always" {
		r.imageMu.Lock()
		info := r.images[ref]
		r.imageMu.Unlock()
		if info != nil {
			return info, "", nil
		}
		info, err := r.inspectImage(ctx, ref)
		if err == nil {
			return info, "", nil
		}
		if !cerrdefs.IsNotFound(err) {
			return nil, "ErrImagePull", err
		}
		if policy == "Never" {
			return nil, "ErrImageNeverPull", fmt.Errorf("Container image %q is not present with pull policy of Never", ref)
		}
	}
	start := time.Now()
	resp, err := r.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err != nil {
		return nil, "ErrImagePull", err
	}
	log.Printf("pulled image %s in %s", ref, time.Since(start).Round(time.Millisecond))
	info, err := r.inspectImage(ctx, ref)
	if err != nil {
		return nil, "ErrImagePull", err
	}
	return info, "", nil
}

func (r *dockerRuntime) inspectImage(ctx context.Context, ref string) (*imageInfo, error) {
	ictx, cancel := context.WithTimeout(ctx, dockerCallTimeout)
	defer cancel()
	in, err := r.cli.ImageInspect(ictx, ref)
	if err != nil {
		return nil, err
	}
	info := &imageInfo{}
	if in.Config != nil {
		info.user, info.stopSignal = in.Config.User, in.Config.StopSignal
	}
	r.imageMu.Lock()
	r.images[ref] = info
	r.imageMu.Unlock()
	return info, nil
}

func (r *dockerRuntime) forgetImage(ref string) {
	r.imageMu.Lock()
	delete(r.images, ref)
	r.imageMu.Unlock()
}

// reapDocker removes every container and volume labelled with job uid:
// what a supervisor that died left, or anything its own clean-up missed.
func reapDocker(ctx context.Context, cli *client.Client, uid string) error {
	ctx, cancel := context.WithTimeout(ctx, dockerCallTimeout)
	defer cancel()
	f := make(client.Filters).Add("label", labelJobUID+"="+uid)
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list the job's containers: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(list.Items))
	for i, c := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs[i] = fmt.Errorf("remove container %s: %w", c.ID, err)
			}
		}()
	}
	wg.Wait()
	vols, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list the job's volumes: %w", err))
	} else {
		for _, v := range vols.Items {
			if _, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// pingDocker checks that the daemon answers.
func pingDocker(d *DockerPlan) error {
	cli, err := dockerClient(d)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("cannot reach the Docker daemon at %s: %w", cli.DaemonHost(), err)
	}
	return nil
}
