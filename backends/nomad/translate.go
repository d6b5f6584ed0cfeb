package nomad

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

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

// risk is an entry whose approximation can change the job's outcome (success
// against failure, or the reason): the CLI refuses the job unless the user
// allows approximations.
func (t *translator) risk(field string, level backends.FidelityLevel, format string, args ...any) {
	t.fid = append(t.fid, backends.Fidelity{Field: field, Level: level, Outcome: true, Message: fmt.Sprintf(format, args...)})
}

// envNote says how Nomad's value of an env[].valueFrom differs.
func (t *translator) envNote(field, format string, args ...any) {
	t.note(field, backends.Note, format, args...)
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
		return nil, nil, t.invalid("spec.suspend: %s", cannotSuspend)
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
	// What the judge replays the allocations' history into (judge.go).
	spec, err := encodeController(controllerJob(job))
	if err != nil {
		return nil, nil, err
	}
	meta[metaController] = spec
	if op == "submit" {
		meta[metaCreated] = time.Now().UTC().Format(time.RFC3339Nano)
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
		switch {
		case b.driver == driverDocker && strings.HasSuffix(path, ".imagePullPolicy"):
			// force_pull or a note: see pull
		case handled(path):
		case backends.PlacementOnly(path):
			t.note(path, backends.Approximated, "ignored: it only says where or how soon pods run, and Nomad places allocations by its own rules")
		default:
			t.risk(path, backends.Unsupported, "not honoured by the nomad backend: the job runs as if it were absent")
		}
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

// cannotSuspend is why the nomad backend refuses spec.suspend, Suspend and
// Resume.
const cannotSuspend = "the nomad backend cannot suspend a job: the only way to stop a Nomad batch job and start it again " +
	"(nomad job stop, then run it again) re-runs every allocation, the completed ones too, because Nomad ignores the " +
	"finished allocations of a job's earlier version; Kubernetes keeps a suspended job's succeeded pods and completed indexes " +
	"and runs only what is left"

// watched says what batchctl does about a verdict Nomad does not reach by
// itself, and what holds when nobody watches.
const watched = "batchctl stops the Nomad job (deregistered, not purged) at that verdict while it watches (submit --wait or --follow, wait, logs -f), " +
	"as Kubernetes stops the pods; when nobody watches, Nomad runs and retries the allocations on up to its own limits, which changes nothing batchctl reports"

// handled are the fields the neutral model leaves out that the nomad
// backend honours itself: the Job controller's, which the judge applies to
// the allocations' history (judge.go) and jobLevel reports, and what it
// resolves in each task.
var handled = func() func(string) bool {
	fields := []string{
		"spec.podFailurePolicy", "spec.successPolicy", "spec.backoffLimitPerIndex", "spec.maxFailedIndexes",
		"spec.podReplacementPolicy", "spec.template.spec.activeDeadlineSeconds",
		"spec.template.spec.terminationGracePeriodSeconds",
		"spec.template.spec.containers[*].env", "spec.template.spec.initContainers[*].env",
		"spec.template.spec.containers[*].envFrom", "spec.template.spec.initContainers[*].envFrom",
	}
	index := regexp.MustCompile(`\[[0-9]+\]`)
	return func(path string) bool {
		generic := index.ReplaceAllString(path, "[*]")
		for _, f := range fields {
			if generic == f || strings.HasPrefix(generic, f+".") || strings.HasPrefix(generic, f+"[") {
				return true
			}
		}
		return false
	}
}()

// jobLevel reports the spec fields Nomad has no equivalent for, and what
// happens instead.
func (t *translator) jobLevel() {
	job := t.job
	if job.WorkQueue {
		t.note("spec.completions", backends.Approximated,
			"unset with parallelism %d is Kubernetes' work-queue mode (%d pods, done once one succeeds); Nomad runs it as one allocation (completions 1), and batchctl judges it so",
			job.Parallelism, job.Parallelism)
	}
	if job.Parallelism < job.Completions {
		t.note("spec.parallelism", backends.Approximated,
			"Nomad has no parallelism: it starts all %d allocations at once (as far as the cluster fits them), not %d at a time; batchctl judges the outcome as if they had run %d at a time",
			job.Completions, job.Parallelism, job.Parallelism)
	}
	if job.ActiveDeadlineSeconds != nil {
		t.note("spec.activeDeadlineSeconds", backends.Approximated,
			"Nomad has no run-time limit for batch jobs (hashicorp/nomad#1782): batchctl reports the job Failed with reason DeadlineExceeded once %ds have passed since it was created, as Kubernetes does; %s",
			*job.ActiveDeadlineSeconds, watched)
	}
	if job.TTLSecondsAfterFinished != nil {
		t.note("spec.ttlSecondsAfterFinished", backends.Approximated,
			"Nomad removes finished jobs only by its server-wide garbage collection (job_gc_threshold, default 4h), not %ds after they finish; `batchctl delete` removes one at once",
			*job.TTLSecondsAfterFinished)
	}
	if job.Object == nil {
		return
	}
	s := &job.Object.Spec
	perIndex := s.BackoffLimitPerIndex
	if p := s.PodFailurePolicy; p != nil {
		t.podFailurePolicy(p, perIndex)
	}
	if s.SuccessPolicy != nil {
		t.note("spec.successPolicy", backends.Approximated,
			"Nomad has no success policy: batchctl applies it to the allocations' results with the Job controller's logic and reports the job Succeeded (condition SuccessCriteriaMet) once it is met, as Kubernetes does, whatever the other indexes do after; %s",
			watched)
	}
	if perIndex != nil {
		t.note("spec.backoffLimitPerIndex", backends.Emulated,
			"each completion index is its own Nomad allocation, rescheduled up to %d times after a failure; batchctl reports an index with no retry left as failed (failedIndexes) and the job as the Job controller does (reason FailedIndexes once every index has succeeded or failed); Nomad's retry delays are its own",
			*perIndex)
	}
	if s.MaxFailedIndexes != nil {
		t.note("spec.maxFailedIndexes", backends.Approximated,
			"batchctl reports the job Failed with reason MaxFailedIndexesExceeded once more than %d indexes have failed, as Kubernetes does; %s",
			*s.MaxFailedIndexes, watched)
	}
	if s.PodReplacementPolicy != nil {
		t.note("spec.podReplacementPolicy", backends.Note,
			"Nomad replaces an allocation only once it has stopped, as policy Failed does; batchctl counts the allocations Nomad stopped or lost as policy %s says",
			*s.PodReplacementPolicy)
	}
	ps := &s.Template.Spec
	if ps.ActiveDeadlineSeconds != nil {
		t.risk("spec.template.spec.activeDeadlineSeconds", backends.Unsupported,
			"Nomad cannot limit how long an allocation runs (hashicorp/nomad#1782): a pod that runs longer than %ds is not failed with reason DeadlineExceeded, as in Kubernetes, but runs until it ends",
			*ps.ActiveDeadlineSeconds)
	}
	if g := ps.TerminationGracePeriodSeconds; g != nil {
		t.note("spec.template.spec.terminationGracePeriodSeconds", backends.Note,
			"Nomad's kill_timeout: SIGTERM, then SIGKILL after %s; a Nomad client caps it at its max_kill_timeout (default 30s)", killTimeout(g))
	}
}

// podFailurePolicy reports how the judge applies the policy, and what
// Nomad's own retry counting changes.
func (t *translator) podFailurePolicy(p *batchv1.PodFailurePolicy, perIndex *int32) {
	ignoresExits, failIndex, onConditions := false, false, false
	for _, r := range p.Rules {
		ignoresExits = ignoresExits || (r.Action == batchv1.PodFailurePolicyActionIgnore && r.OnExitCodes != nil)
		failIndex = failIndex || r.Action == batchv1.PodFailurePolicyActionFailIndex
		onConditions = onConditions || len(r.OnPodConditions) > 0
	}
	msg := "Nomad has no pod failure policy: batchctl applies these rules to every allocation's exit codes with the Job controller's logic, " +
		"so status, wait and the exit code report what Kubernetes would (a FailJob rule: Failed with reason PodFailurePolicy at the first matching exit; Ignore: not counted); " + watched
	if onConditions {
		msg += "; the only pod condition Nomad gives rise to is DisruptionTarget: an allocation lost with its node, preempted, or stopped by Nomad while the job runs"
	}
	if failIndex {
		msg += "; Nomad still reschedules an index a FailIndex rule has failed, and batchctl disregards those allocations"
	}
	if !ignoresExits {
		t.note("spec.podFailurePolicy", backends.Approximated, "%s", msg)
		return
	}
	limit := t.job.BackoffLimit
	if perIndex != nil {
		limit = *perIndex
	}
	uses := fmt.Sprintf("still uses up one of the %d reschedules Nomad has for its completion index", limit)
	switch limit {
	case 0:
		uses = "still ends its completion index, which Nomad does not reschedule (backoffLimit 0)"
	case 1:
		uses = "still uses up the one reschedule Nomad has for its completion index"
	}
	t.risk("spec.podFailurePolicy", backends.Approximated,
		"%s; but a failure an Ignore rule ignores %s, so the job can end Failed with reason %s where Kubernetes would retry it",
		msg, uses, reasonRetriesExhausted)
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
		t.risk("spec.template.spec.initContainers", backends.Approximated,
			"Nomad runs its %d prestart tasks at the same time, not one after another: one that relies on an earlier one having finished can fail here where it succeeds in Kubernetes (batchctl judges their results in order)", n)
	}
	if n := len(job.Template.Containers); n > 1 && restartPolicy(job) == jobspec.RestartNever {
		t.note("spec.template.spec.containers", backends.Note,
			"when one of the %d tasks of an allocation fails, Nomad stops the others (SIGTERM, exit 143); Kubernetes lets the other containers of a failed pod run to their end", n)
	}
	var pod corev1.PodSpec
	if job.Object != nil {
		pod = job.Object.Spec.Template.Spec
	}
	native := func(cs []corev1.Container, i int) *corev1.Container {
		if i < len(cs) {
			return &cs[i]
		}
		return nil
	}
	for i, c := range job.Template.InitContainers {
		task, err := t.task(fmt.Sprintf("spec.template.spec.initContainers[%d]", i), c, native(pod.InitContainers, i), wrap)
		if err != nil {
			return nil, err
		}
		task.Lifecycle = &api.TaskLifecycle{Hook: api.TaskLifecycleHookPrestart}
		g.Tasks = append(g.Tasks, task)
	}
	for i, c := range job.Template.Containers {
		task, err := t.task(fmt.Sprintf("spec.template.spec.containers[%d]", i), c, native(pod.Containers, i), wrap)
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

// retries sets the restart and reschedule blocks from restartPolicy and
// the backoff limits, and reports whether commands get the run-marker
// wrapper.
//
// Never: each failure is a new allocation (reschedule, attempts =
// backoffLimitPerIndex if set, else backoffLimit), with the Job
// controller's doubling delay. OnFailure: the task restarts in place
// (restart, mode fail) backoffLimit-1 times, since Kubernetes fails the job
// when its running pods' restarts reach backoffLimit, and the allocation is
// never rescheduled. Both count over the job's life. Nomad counts per index
// (per task of an allocation), not across the job: the judge (judge.go)
// applies the job-wide limit to the attempts.
func (t *translator) retries(g *api.TaskGroup) (wrap bool) {
	job := t.job
	limit, perIndex := job.BackoffLimit, (*int32)(nil)
	if job.Object != nil {
		d := jobspec.Defaults(job.Object).Spec
		limit, perIndex = *d.BackoffLimit, d.BackoffLimitPerIndex
	}
	delay, ceiling := t.b.backoff, t.b.maxDelay
	if restartPolicy(job) == jobspec.RestartOnFailure {
		attempts := max(int(limit)-1, 0)
		g.RestartPolicy = &api.RestartPolicy{Attempts: &attempts, Mode: ptr(api.RestartPolicyModeFail), Delay: &delay, Interval: ptr(forever)}
		g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)}
		if time.Duration(attempts) > forever/max(delay, time.Nanosecond) {
			// No limit (backoffLimitPerIndex without backoffLimit): restart
			// for ever, at Nomad's pace.
			interval := max(delay, minRestartInterval)
			g.RestartPolicy.Mode, g.RestartPolicy.Interval = ptr(api.RestartPolicyModeDelay), &interval
			g.RestartPolicy.Attempts = ptr(max(1, int(interval/max(delay, time.Nanosecond))))
			attempts = math.MaxInt32
		}
		if attempts == 0 {
			return false
		}
		t.note("spec.backoffLimit", backends.Note,
			"Nomad restarts a failed task in place after a constant %s (Kubernetes doubles the delay), up to %s: Kubernetes fails the job when the restarts of its running pods reach backoffLimit",
			delay, times(attempts))
		if len(job.Template.Containers)+len(job.Template.InitContainers) > 1 || job.Completions > 1 {
			t.note("spec.backoffLimit", backends.Approximated,
				"Nomad counts restarts per task of each allocation (up to %s each), not across the job: batchctl counts the restarts of the running allocations as Kubernetes does and reports the job Failed (BackoffLimitExceeded) once they reach %d; %s",
				times(attempts), limit, watched)
		}
		if t.b.driver == driverDocker {
			return true // for the commands that start a shell: see task
		}
		t.note("spec.template.spec.restartPolicy", backends.Emulated,
			"OnFailure: Nomad restarts the task in place; batchctl runs each command through /bin/sh, which writes a marker line before every run so that logs can tell the attempts apart")
		return true
	}
	n := limit
	if perIndex != nil {
		n = *perIndex
	}
	g.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr(api.RestartPolicyModeFail), Delay: &delay, Interval: ptr(forever)}
	g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(int(n)), Unlimited: ptr(false)}
	if n == 0 {
		return false
	}
	rd, rc := max(delay, minRescheduleDelay), max(ceiling, minRescheduleDelay)
	g.ReschedulePolicy.Interval = ptr(forever)
	g.ReschedulePolicy.Delay = &rd
	g.ReschedulePolicy.DelayFunction = ptr("exponential")
	g.ReschedulePolicy.MaxDelay = &rc
	if !viableReschedules(int(n), rd, rc) {
		// More than Nomad can count in its interval: no limit.
		g.ReschedulePolicy.Attempts, g.ReschedulePolicy.Unlimited, g.ReschedulePolicy.Interval = ptr(0), ptr(true), nil
	}
	msg := fmt.Sprintf("Nomad reschedules a failed allocation after %s, doubling up to %s", rd, rc)
	if rd != delay {
		msg += fmt.Sprintf(" (its minimum delay is %s; %s was asked)", minRescheduleDelay, delay)
	}
	t.note("spec.backoffLimit", backends.Note, "%s", msg)
	if job.Completions > 1 && perIndex == nil {
		t.note("spec.backoffLimit", backends.Approximated,
			"Nomad counts retries per completion index (up to %s each), not across the job: batchctl counts the job's failures as Kubernetes does and reports it Failed (BackoffLimitExceeded) once they pass %d; %s",
			times(int(n)), n, watched)
	}
	return false
}

// minRestartInterval is Nomad's RestartPolicyMinInterval.
const minRestartInterval = 5 * time.Second

// viableReschedules is Nomad's ReschedulePolicy.viableAttempts for the
// exponential function: whether n reschedules fit in the interval.
func viableReschedules(n int, delay, ceiling time.Duration) bool {
	if n > 1<<20 {
		return false
	}
	var total time.Duration
	d := delay
	for range n {
		if d >= ceiling {
			total += ceiling
		} else {
			total = d
			d *= 2
		}
		if total >= forever {
			return false
		}
	}
	return true
}

func times(n int) string {
	switch {
	case n >= math.MaxInt32:
		return "any number of times"
	case n == 1:
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// task translates one container; native is it as the manifest has it.
func (t *translator) task(path string, c jobspec.Container, native *corev1.Container, wrap bool) (*api.Task, error) {
	// Kubernetes stops with SIGTERM, then SIGKILL after the pod's grace.
	task := &api.Task{Name: c.Name, Driver: t.b.driver, KillSignal: "SIGTERM"}
	var grace *int64
	if t.job.Object != nil {
		grace = t.job.Object.Spec.Template.Spec.TerminationGracePeriodSeconds
	}
	task.KillTimeout = ptr(killTimeout(grace))
	var pull corev1.PullPolicy
	if native != nil {
		pull = native.ImagePullPolicy
	}
	env, vars, err := t.env(path, c, native)
	if err != nil {
		return nil, err
	}
	task.Env = env
	argv := expandAll(c.Command, vars)
	args := expandAll(c.Args, vars)
	cfg := map[string]any{}
	switch t.b.driver {
	case driverDocker:
		cfg["image"] = configString(c.Image)
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
		cfg["work_dir"] = configString(c.WorkingDir)
	}
	task.Config = cfg
	task.Resources = t.resources(path+".resources", c.Resources)
	t.memoryRisk(path+".resources", c.Resources)
	return task, nil
}

// killTimeout is the pod's terminationGracePeriodSeconds as Nomad's
// kill_timeout: Kubernetes' 30 s by default, and never under the 2 s the
// kubelet gives at least.
func killTimeout(grace *int64) time.Duration {
	if grace == nil {
		return 30 * time.Second
	}
	return max(time.Duration(*grace)*time.Second, 2*time.Second)
}

// memoryRisk marks the resources entry at field as able to change the
// outcome where Nomad's memory limit is lower than Kubernetes': Nomad
// enforces the memory it reserves (memory_max only where the cluster
// enables oversubscription), and resources it ignores (GPUs, storage) are
// not there for the task.
func (t *translator) memoryRisk(field string, r jobspec.Resources) {
	var why []string
	req, hasReq := r.Requests["memory"]
	lim, hasLim := r.Limits["memory"]
	switch {
	case hasReq && !hasLim:
		why = append(why, fmt.Sprintf("Nomad kills the task (OOMKilled) once it uses more than its %s reservation, where Kubernetes sets no memory limit", req))
	case hasReq && hasLim && req != lim:
		rq, e1 := resource.ParseQuantity(req)
		lq, e2 := resource.ParseQuantity(lim)
		if e1 == nil && e2 == nil && rq.Cmp(lq) < 0 {
			why = append(why, fmt.Sprintf("Nomad kills the task (OOMKilled) above its %s reservation unless the cluster enables memory oversubscription, where Kubernetes allows up to the %s limit", req, lim))
		}
	}
	ignored := false
	for _, list := range []map[string]string{r.Requests, r.Limits} {
		for name := range list {
			ignored = ignored || (name != "cpu" && name != "memory")
		}
	}
	if ignored {
		why = append(why, "a resource Nomad ignores is not there for the task, which may fail without it")
	}
	if len(why) == 0 {
		return
	}
	for i := len(t.fid) - 1; i >= 0; i-- {
		if t.fid[i].Field == field {
			t.fid[i].Outcome = true
			t.fid[i].Message += ": " + strings.Join(why, "; ")
			return
		}
	}
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

// nomadVar is what Nomad interpolates in a task's env values when it
// starts the task (hashicorp/nomad helper/args ReplaceEnv): a name it knows
// is replaced, any other is left as written, and there is no escape.
var nomadVar = regexp.MustCompile(`\${[a-zA-Z0-9_\-\.]+}`)

func (t *translator) checkInterpolation(field string, ss []string) {
	for _, s := range ss {
		if m := nomadVar.FindString(s); m != "" {
			t.note(field, backends.Approximated,
				"Nomad replaces %s in the value when it names a variable Nomad knows (a NOMAD_ variable, a node attribute, on raw_exec also the client's environment), where Kubernetes leaves it as written; Nomad has no escape for it", m)
			return
		}
	}
}

// Nomad reads a task's config (command, args, work_dir, ...) as HCL2
// templates: "${name}" is interpolated, and fails the task when Nomad does
// not know the name, and "%{" starts a directive; "$${" and "%%{" are the
// literal text. What batchctl means Nomad to fill in (the allocation's
// index, name, node, ...) is carried as a token until the manifest's own
// text has been escaped, so that a command reaches the container exactly
// as Kubernetes would run it.
const tokOpen, tokClose = "\uE000", "\uE001"

// nomadRef is a token for Nomad's ${name}.
func nomadRef(name string) string { return tokOpen + name + tokClose }

var tokRE = regexp.MustCompile(tokOpen + "([^" + tokClose + "]*)" + tokClose)

// fromTokens writes the tokens in s as Nomad's ${name}.
func fromTokens(s string) string {
	return tokRE.ReplaceAllStringFunc(s, func(tok string) string {
		return "${" + strings.TrimSuffix(strings.TrimPrefix(tok, tokOpen), tokClose) + "}"
	})
}

// configString is s as a task config value: the manifest's text escaped,
// batchctl's tokens as ${name}.
func configString(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	s = strings.ReplaceAll(s, "%{", "%%{")
	return fromTokens(s)
}

// expandAll expands $(VAR) in each of ss (see expand) and writes the
// results as task config values.
func expandAll(ss []string, vars map[string]string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = configString(expand(s, vars))
	}
	return out
}

// expand resolves $(VAR) against vars (jobspec.ExpandRefs).
func expand(s string, vars map[string]string) string {
	return jobspec.ExpandRefs(s, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func ptr[T any](v T) *T { return &v }
