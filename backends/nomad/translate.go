package nomad

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Nomad's own limits on retry timing (nomad/structs: ReschedulePolicyMinDelay
// and RestartPolicyMinInterval).
const (
	minRescheduleDelay = 5 * time.Second
	// forever is the restart and reschedule interval: attempts are counted
	// over the job's whole life, as backoffLimit is.
	forever = 10 * 365 * 24 * time.Hour
)

const indexEnv = "JOB_COMPLETION_INDEX"

// runMarker is the line the OnFailure wrapper writes to stdout and stderr
// before each run, so that Logs can tell in-place restarts apart: Nomad
// appends every run of a task to the same log files.
const runMarker = "\x1ebatchctl-run"

// wrapScript runs the container's argv after writing the marker.
const wrapScript = markScript + `exec "$@"`

// markScript writes the marker to stdout and stderr.
const markScript = `printf '\036batchctl-run\n'; printf '\036batchctl-run\n' >&2; `

// holdScript keeps a docker container alive half a second before its
// command runs: Nomad's docker driver stops collecting a container's output
// as soon as it exits, often before it has read any of a container that
// exits at once (hashicorp/nomad#6931). Silent where sleep is missing.
const holdScript = `{ sleep 0.5 || sleep 1; } 2>/dev/null; `

// translator turns one job into a Nomad job and its fidelity report.
type translator struct {
	b   *backend
	job *jobspec.Job
	op  string
	ref backends.Ref
	fid []backends.Fidelity

	images     []string // unused images, said once for the job
	imageField string
	marked     []string // docker: containers run behind the run marker
	unmarked   []string // docker: OnFailure containers that could not be marked
}

func (t *translator) note(field string, level backends.FidelityLevel, format string, args ...any) {
	t.fid = append(t.fid, backends.Fidelity{Field: field, Level: level, Message: fmt.Sprintf(format, args...)})
}

func (t *translator) invalid(format string, args ...any) error {
	return &backends.Error{Kind: backends.ErrInvalid, Op: t.op, Ref: t.ref, Msg: fmt.Sprintf(format, args...)}
}

// translate renders job as the Nomad job Submit sends, with id as its ID,
// and lists in field order what Nomad does not honour natively.
func (b *backend) translate(job *jobspec.Job, id, op string) (*api.Job, []backends.Fidelity, error) {
	t := &translator{b: b, job: job, op: op, ref: backends.Ref{Name: id, Namespace: b.namespaceOf(job)},
		imageField: "spec.template.spec.initContainers[*].image"}
	switch {
	case job.Suspend:
		return nil, nil, t.invalid("spec.suspend: the nomad backend cannot suspend jobs (there is no resume)")
	case job.Parallelism == 0:
		return nil, nil, t.invalid("spec.parallelism: 0 would hold the job, which the nomad backend cannot do")
	case len(job.Template.Containers) == 0:
		return nil, nil, t.invalid("spec.template.spec.containers: at least one container is required")
	}
	group, err := t.group()
	if err != nil {
		return nil, nil, err
	}
	meta := toMeta(job.Labels, job.Annotations)
	meta[backends.ManagedByLabel] = backends.ManagedByValue
	meta[metaParallelism] = strconv.Itoa(int(job.Parallelism))
	meta[metaMode] = string(mode(job))
	if job.ActiveDeadlineSeconds != nil {
		meta[metaDeadline] = strconv.FormatInt(*job.ActiveDeadlineSeconds, 10)
	}
	nj := &api.Job{
		ID:         &id,
		Name:       &id,
		Namespace:  &t.ref.Namespace,
		Type:       ptr(api.JobTypeBatch),
		Meta:       meta,
		TaskGroups: []*api.TaskGroup{group},
	}
	if b.cfg.Region != "" {
		nj.Region = &b.cfg.Region
	}
	switch len(t.images) {
	case 0:
	case 1:
		t.note(t.imageField, backends.Note, "image %s is not used: the %s driver runs commands on the Nomad client", t.images[0], b.driver)
	default:
		t.note(t.imageField, backends.Note, "images %s are not used: the %s driver runs commands on the Nomad client", strings.Join(t.images, ", "), b.driver)
	}
	t.jobLevel()
	for _, path := range job.Unmodelled {
		if b.driver == driverDocker && strings.HasSuffix(path, ".imagePullPolicy") {
			continue // force_pull or a note: see pull
		}
		t.note(path, backends.Unsupported, "not honoured by the nomad backend")
	}
	backends.SortFidelity(t.fid)
	return nj, t.fid, nil
}

func mode(job *jobspec.Job) jobspec.CompletionMode {
	if job.CompletionMode == "" {
		return jobspec.NonIndexed
	}
	return job.CompletionMode
}

func restartPolicy(job *jobspec.Job) jobspec.RestartPolicy {
	if job.Template.RestartPolicy == "" {
		return jobspec.RestartNever
	}
	return job.Template.RestartPolicy
}

// jobLevel reports the spec fields Nomad has no equivalent for.
func (t *translator) jobLevel() {
	job := t.job
	if job.WorkQueue {
		t.note("spec.completions", backends.Approximated,
			"unset with parallelism %d is Kubernetes' work-queue mode (%d pods, done once one succeeds); Nomad runs it as one allocation (completions 1)",
			job.Parallelism, job.Parallelism)
	}
	if job.Parallelism < job.Completions {
		t.note("spec.parallelism", backends.Approximated,
			"Nomad has no parallelism: it starts all %d allocations at once (as far as the cluster fits them), not %d at a time",
			job.Completions, job.Parallelism)
	}
	if job.ActiveDeadlineSeconds != nil {
		t.note("spec.activeDeadlineSeconds", backends.Approximated,
			"Nomad has no run-time limit for batch jobs (hashicorp/nomad#1782): batchctl reports the job Failed with reason DeadlineExceeded once %ds have passed, but its allocations run on until they end or the job is deleted",
			*job.ActiveDeadlineSeconds)
	}
	if job.TTLSecondsAfterFinished != nil {
		t.note("spec.ttlSecondsAfterFinished", backends.Approximated,
			"Nomad removes finished jobs only by its server-wide garbage collection (job_gc_threshold, default 4h), not %ds after they finish; `batchctl delete` removes one at once",
			*job.TTLSecondsAfterFinished)
	}
}

// group builds the task group: count, retry policy, tasks.
func (t *translator) group() (*api.TaskGroup, error) {
	job := t.job
	g := &api.TaskGroup{
		Name:  ptr(groupName),
		Count: ptr(int(job.Completions)),
		Meta:  toMeta(job.Template.Labels, job.Template.Annotations),
	}
	if len(g.Meta) == 0 {
		g.Meta = nil
	}
	wrap := t.retries(g)
	if n := len(job.Template.InitContainers); n > 1 {
		t.note("spec.template.spec.initContainers", backends.Approximated,
			"Nomad runs its %d prestart tasks at the same time, not one after another", n)
	}
	var pod corev1.PodSpec
	if job.Object != nil {
		pod = job.Object.Spec.Template.Spec
	}
	for i, c := range job.Template.InitContainers {
		task, err := t.task(fmt.Sprintf("spec.template.spec.initContainers[%d]", i), c, pullPolicy(pod.InitContainers, i), wrap)
		if err != nil {
			return nil, err
		}
		task.Lifecycle = &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart}
		g.Tasks = append(g.Tasks, task)
	}
	for i, c := range job.Template.Containers {
		task, err := t.task(fmt.Sprintf("spec.template.spec.containers[%d]", i), c, pullPolicy(pod.Containers, i), wrap)
		if err != nil {
			return nil, err
		}
		g.Tasks = append(g.Tasks, task)
	}
	if len(t.marked) > 0 {
		t.note("spec.template.spec.restartPolicy", backends.Emulated,
			"OnFailure: Nomad restarts the task in place; batchctl runs the command of %s through the shell it starts, which writes a marker line before every run so that logs can tell the attempts apart",
			strings.Join(t.marked, ", "))
	}
	if len(t.unmarked) > 0 {
		t.note("spec.template.spec.restartPolicy", backends.Note,
			"the output of every in-place restart of %s goes to the same Nomad log, and logs attributes it all to the first attempt: batchctl marks the runs only of a command that starts a shell (sh, bash, ...), the one program it knows the image has",
			strings.Join(t.unmarked, ", "))
	}
	return g, nil
}

func pullPolicy(cs []corev1.Container, i int) corev1.PullPolicy {
	if i < len(cs) {
		return cs[i].ImagePullPolicy
	}
	return ""
}

// retries sets the restart and reschedule blocks from restartPolicy and
// backoffLimit, and reports whether commands get the run-marker wrapper.
//
// Never: each failure is a new allocation (reschedule, attempts =
// backoffLimit), with the Job controller's doubling delay. OnFailure: the
// task restarts in place (restart, attempts = backoffLimit, mode fail) and
// the allocation is never rescheduled. Both count over the job's life.
func (t *translator) retries(g *api.TaskGroup) (wrap bool) {
	job := t.job
	limit := int(job.BackoffLimit)
	delay, ceiling := t.b.backoff, t.b.maxDelay
	if restartPolicy(job) == jobspec.RestartOnFailure {
		g.RestartPolicy = &api.RestartPolicy{Attempts: &limit, Mode: ptr(api.RestartPolicyModeFail), Delay: &delay, Interval: ptr(forever)}
		g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)}
		if limit == 0 {
			return false
		}
		t.note("spec.backoffLimit", backends.Note, "Nomad restarts a failed task in place after a constant %s (Kubernetes doubles the delay)", delay)
		if len(job.Template.Containers)+len(job.Template.InitContainers) > 1 || job.Completions > 1 {
			t.note("spec.backoffLimit", backends.Approximated,
				"counted per task of each allocation (Nomad restarts each up to %d times), not across the job; when one allocation runs out, batchctl reports the job Failed but the others run on", limit)
		}
		if t.b.driver == driverDocker {
			return true // for the commands that start a shell: see task
		}
		t.note("spec.template.spec.restartPolicy", backends.Emulated,
			"OnFailure: Nomad restarts the task in place; batchctl runs each command through /bin/sh, which writes a marker line before every run so that logs can tell the attempts apart")
		return true
	}
	g.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr(api.RestartPolicyModeFail), Delay: &delay, Interval: ptr(forever)}
	g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: &limit, Unlimited: ptr(false)}
	if limit == 0 {
		return false
	}
	rd, rc := max(delay, minRescheduleDelay), max(ceiling, minRescheduleDelay)
	g.ReschedulePolicy.Interval = ptr(forever)
	g.ReschedulePolicy.Delay = &rd
	g.ReschedulePolicy.DelayFunction = ptr("exponential")
	g.ReschedulePolicy.MaxDelay = &rc
	msg := fmt.Sprintf("Nomad reschedules a failed allocation after %s, doubling up to %s", rd, rc)
	if rd != delay {
		msg += fmt.Sprintf(" (its minimum delay is %s; %s was asked)", minRescheduleDelay, delay)
	}
	t.note("spec.backoffLimit", backends.Note, "%s", msg)
	if job.Completions > 1 {
		t.note("spec.backoffLimit", backends.Approximated,
			"counted per completion index (Nomad reschedules each up to %d times), not across the job; when one index runs out, batchctl reports the job Failed but the other allocations run on", limit)
	}
	return false
}

// task translates one container.
func (t *translator) task(path string, c jobspec.Container, pull corev1.PullPolicy, wrap bool) (*api.Task, error) {
	task := &api.Task{Name: c.Name, Driver: t.b.driver, KillSignal: "SIGTERM"} // Kubernetes stops with SIGTERM
	env, vars := t.env(path, c)
	task.Env = env
	argv := expandAll(c.Command, vars)
	args := expandAll(c.Args, vars)
	t.checkInterpolation(path+".command", c.Command)
	t.checkInterpolation(path+".args", c.Args)
	cfg := map[string]any{}
	switch t.b.driver {
	case driverDocker:
		cfg["image"] = c.Image
		if t.pull(path, c.Image, pull) {
			cfg["force_pull"] = true
		}
		if len(argv) > 0 && shells[argv[0][strings.LastIndexByte(argv[0], '/')+1:]] {
			// The image has this shell, since the command runs it.
			script := holdScript + `exec "$@"`
			if wrap {
				script = markScript + script
				t.marked = append(t.marked, c.Name)
			}
			argv = append([]string{argv[0], "-c", script, "batchctl"}, argv...)
			t.note(path+".command", backends.Note,
				"Nomad's docker driver can lose the output of a container that exits at once (hashicorp/nomad#6931): batchctl runs the command through its shell, after half a second")
		} else if wrap {
			t.unmarked = append(t.unmarked, c.Name)
		}
		if len(argv) > 0 {
			cfg["entrypoint"] = argv // Kubernetes' command replaces ENTRYPOINT
		}
		if len(args) > 0 {
			cfg["args"] = args // and args replace CMD
		}
	default:
		if len(argv) == 0 {
			return nil, t.invalid("%s (%s): no command: the %s driver cannot run an image's entrypoint; set command", path, c.Name, t.b.driver)
		}
		if c.Image != "" && !slices.Contains(t.images, c.Image) {
			t.images = append(t.images, c.Image)
		}
		if c.Image != "" && strings.Contains(path, ".containers[") {
			t.imageField = "spec.template.spec.containers[*].image"
		}
		argv = append(argv, args...)
		if wrap {
			argv = append([]string{"/bin/sh", "-c", wrapScript, "batchctl"}, argv...)
		}
		cfg["command"] = argv[0]
		if len(argv) > 1 {
			cfg["args"] = argv[1:]
		}
	}
	if c.WorkingDir != "" {
		cfg["work_dir"] = c.WorkingDir
	}
	task.Config = cfg
	task.Resources = t.resources(path+".resources", c.Resources)
	return task, nil
}

// shells run batchctl's scripts (holdScript, markScript) when a docker
// container's command starts one of them: then the image has it.
var shells = map[string]bool{"sh": true, "ash": true, "dash": true, "bash": true, "ksh": true, "mksh": true, "zsh": true}

// pull maps imagePullPolicy to the docker driver, reporting whether the
// task needs force_pull. Unset, Kubernetes' default (Always for :latest or
// no tag, else IfNotPresent) is what the driver does already: it uses an
// image the client has, except a :latest one, which it pulls at every start.
func (t *translator) pull(path, image string, policy corev1.PullPolicy) bool {
	field := path + ".imagePullPolicy"
	latest := !strings.Contains(image, "@")
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		latest = latest && image[i+1:] == "latest"
	}
	switch policy {
	case corev1.PullAlways:
		return true
	case corev1.PullIfNotPresent:
		if latest {
			t.note(field, backends.Approximated, "Nomad's docker driver pulls %s (tag latest) at every start, even when the client has it", image)
		}
	case corev1.PullNever:
		msg := "Nomad's docker driver uses the client's copy of the image but pulls it when the client has none: it cannot refuse to pull"
		if latest {
			msg = fmt.Sprintf("Nomad's docker driver pulls %s (tag latest) at every start: it cannot refuse to pull", image)
		}
		t.note(field, backends.Approximated, "%s", msg)
	}
	return false
}

// env builds the task's environment with Kubernetes' $(VAR) expansion done
// here (every value is a literal), and returns the variables command and
// args may refer to. An Indexed job's JOB_COMPLETION_INDEX comes from
// Nomad's NOMAD_ALLOC_INDEX, which Nomad interpolates in env values.
func (t *translator) env(path string, c jobspec.Container) (map[string]string, map[string]string) {
	vars := map[string]string{}
	for i, e := range c.Env {
		t.checkInterpolation(fmt.Sprintf("%s.env[%d].value", path, i), []string{e.Value})
		vars[e.Name] = expand(e.Value, vars)
	}
	if _, set := vars[indexEnv]; !set && mode(t.job) == jobspec.Indexed {
		vars[indexEnv] = "${NOMAD_ALLOC_INDEX}"
	}
	if len(vars) == 0 {
		return nil, vars
	}
	env := make(map[string]string, len(vars))
	for k, v := range vars {
		env[k] = v
	}
	return env, vars
}

// nomadVar is what Nomad interpolates in task config and env at run time
// (hashicorp/nomad helper/args), with no escape.
var nomadVar = regexp.MustCompile(`\${[a-zA-Z0-9_\-\.]+}`)

func (t *translator) checkInterpolation(field string, ss []string) {
	for _, s := range ss {
		if m := nomadVar.FindString(s); m != "" {
			t.note(field, backends.Approximated,
				"Nomad replaces %s before the command runs when it names a Nomad, node or task variable (on raw_exec also the client's environment); there is no escape", m)
			return
		}
	}
}

func expandAll(ss []string, vars map[string]string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = expand(s, vars)
	}
	return out
}

// expand resolves $(VAR) against vars (jobspec.ExpandRefs).
func expand(s string, vars map[string]string) string {
	return jobspec.ExpandRefs(s, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func ptr[T any](v T) *T { return &v }
