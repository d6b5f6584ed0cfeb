package nomad_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/nomad"
	"github.com/batchctl/batchctl/jobspec"
)

// render translates a manifest with driver and a 10 s retry delay.
func render(t *testing.T, driver, manifest string) (*api.Job, []string, error) {
	t.Helper()
	j, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, manifest)
	}
	b, err := nomad.Open(nomad.Options{Addr: "http://127.0.0.1:1", Driver: driver, Backoff: 10 * time.Second, BackoffCap: time.Minute}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Render(j)
	if err != nil {
		return nil, nil, err
	}
	var fid []string
	for _, f := range r.Fidelity {
		fid = append(fid, string(f.Level)+" "+f.Field)
	}
	return r.Native.(nomad.Rendered).Job, fid, nil
}

// spec builds a manifest: extra lines go under spec (2 spaces), pod lines
// under the pod spec (6 spaces), container lines under the container.
func spec(extra, pod, container string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: tr
  labels: {team: a}
  annotations: {note: hi}
spec:
%s  template:
    metadata:
      labels: {tier: x}
    spec:
%s      containers:
      - name: main
        image: busybox
%s`, extra, pod, container)
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name, driver, manifest string
		check                  func(t *testing.T, j *api.Job)
		fidelity               []string
	}{{
		name:   "never with retries",
		driver: "raw_exec",
		manifest: spec("  completions: 3\n  parallelism: 3\n  backoffLimit: 2\n", "      restartPolicy: Never\n",
			"        command: [echo]\n        args: [hi, there]\n        workingDir: /tmp\n        env:\n        - {name: A, value: one}\n        - {name: B, value: $(A)-two}\n"),
		check: func(t *testing.T, j *api.Job) {
			g := j.TaskGroups[0]
			task := g.Tasks[0]
			eq(t, "ID/Type/Count", sp(*j.ID, *j.Type, *g.Count), "tr batch 3")
			eq(t, "config", fmt.Sprint(task.Config), "map[args:[hi there] command:echo work_dir:/tmp]")
			eq(t, "env", fmt.Sprint(task.Env), "map[A:one B:one-two]")
			eq(t, "driver/kill", task.Driver+" "+task.KillSignal, "raw_exec SIGTERM")
			eq(t, "meta", fmt.Sprint(j.Meta), `map[app.kubernetes.io/managed-by:batchctl batchctl:annotation:note:hi batchctl:completion-mode:NonIndexed `+
				`batchctl:job-controller:{"spec":{"parallelism":3,"completions":3,"backoffLimit":2,"template":{"spec":{"containers":[{"name":"main"}],"restartPolicy":"Never"}}}} `+
				`batchctl:parallelism:3 team:a]`)
			eq(t, "kill timeout", task.KillTimeout.String(), "30s")
			eq(t, "group meta", fmt.Sprint(g.Meta), "map[tier:x]")
			eq(t, "restart", sp(*g.RestartPolicy.Attempts, *g.RestartPolicy.Mode), "0 fail")
			rp := g.ReschedulePolicy
			eq(t, "reschedule", sp(*rp.Attempts, *rp.Unlimited, *rp.Delay, *rp.DelayFunction, *rp.MaxDelay), "2 false 10s exponential 1m0s")
		},
		fidelity: []string{"note spec.backoffLimit", "approximated spec.backoffLimit", "note spec.template.spec.containers[*].image"},
	}, {
		name:     "on failure restarts in place behind the run marker",
		driver:   "exec",
		manifest: spec("  backoffLimit: 2\n", "      restartPolicy: OnFailure\n", "        command: [sh, -c, 'exit 3']\n"),
		check: func(t *testing.T, j *api.Job) {
			g := j.TaskGroups[0]
			// Kubernetes fails the job at the second restart.
			eq(t, "restart", sp(*g.RestartPolicy.Attempts, *g.RestartPolicy.Mode, *g.RestartPolicy.Delay), "1 fail 10s")
			eq(t, "reschedule", sp(*g.ReschedulePolicy.Attempts, *g.ReschedulePolicy.Unlimited), "0 false")
			cfg := g.Tasks[0].Config
			args := cfg["args"].([]string)
			eq(t, "wrapped", sp(cfg["command"], args[0], args[2:]), "/bin/sh -c [batchctl sh -c exit 3]")
		},
		fidelity: []string{"note spec.backoffLimit", "note spec.template.spec.containers[*].image", "emulated spec.template.spec.restartPolicy"},
	}, {
		name:   "indexed",
		driver: "raw_exec",
		manifest: spec("  completions: 2\n  parallelism: 2\n  completionMode: Indexed\n  backoffLimit: 0\n", "      restartPolicy: Never\n",
			"        command: [sh, -c, 'echo $(JOB_COMPLETION_INDEX) $$(X) $(UNSET)']\n"),
		check: func(t *testing.T, j *api.Job) {
			task := j.TaskGroups[0].Tasks[0]
			eq(t, "env", fmt.Sprint(task.Env), "map[JOB_COMPLETION_INDEX:${NOMAD_ALLOC_INDEX}]")
			eq(t, "args", fmt.Sprint(task.Config["args"]), "[-c echo ${NOMAD_ALLOC_INDEX} $(X) $(UNSET)]")
			eq(t, "mode", j.Meta["batchctl:completion-mode"], "Indexed")
			eq(t, "reschedule", fmt.Sprint(*j.TaskGroups[0].ReschedulePolicy.Attempts), "0")
		},
		fidelity: []string{"note spec.template.spec.containers[*].image"},
	}, {
		name:     "docker runs the image with command as entrypoint",
		driver:   "docker",
		manifest: spec("", "      restartPolicy: Never\n", "        command: [/app]\n        args: [--x]\n"),
		check: func(t *testing.T, j *api.Job) {
			eq(t, "config", fmt.Sprint(j.TaskGroups[0].Tasks[0].Config), "map[args:[--x] entrypoint:[/app] image:busybox]")
		},
		fidelity: []string{"note spec.backoffLimit"},
	}, {
		name:   "resources",
		driver: "raw_exec",
		manifest: spec("  backoffLimit: 0\n", "      restartPolicy: Never\n",
			"        command: ['true']\n        resources:\n          requests: {cpu: 500m, memory: 100Mi}\n          limits: {memory: 1Gi, nvidia.com/gpu: 1}\n"),
		check: func(t *testing.T, j *api.Job) {
			r := j.TaskGroups[0].Tasks[0].Resources
			eq(t, "cpu/memory/max", sp(*r.CPU, *r.MemoryMB, *r.MemoryMaxMB), "500 100 1024")
		},
		fidelity: []string{"note spec.template.spec.containers[*].image", "unsupported spec.template.spec.containers[0].resources"},
	}, {
		name:   "what Nomad cannot honour, in field order",
		driver: "raw_exec",
		manifest: spec("  completions: 4\n  parallelism: 2\n  activeDeadlineSeconds: 60\n  backoffLimit: 0\n  ttlSecondsAfterFinished: 30\n",
			"      restartPolicy: Never\n      tolerations: [{key: k, operator: Exists}]\n      initContainers:\n      - {name: a, image: x, command: ['true']}\n      - {name: b, image: x, command: ['true']}\n",
			"        command: [sh, -c, 'echo ${HOME}']\n"),
		check: func(t *testing.T, j *api.Job) {
			ts := j.TaskGroups[0].Tasks
			eq(t, "tasks", sp(ts[0].Name, ts[0].Lifecycle.Hook, ts[1].Name, ts[1].Lifecycle.Hook, ts[2].Name, ts[2].Lifecycle == nil), "a prestart b prestart main true")
			// The shell's ${HOME} reaches the shell: Nomad would interpolate it.
			eq(t, "escaped", fmt.Sprint(ts[2].Config["args"]), "[-c echo $${HOME}]")
			eq(t, "deadline meta", j.Meta["batchctl:active-deadline-seconds"], "60")
		},
		fidelity: []string{
			"approximated spec.parallelism",
			"approximated spec.activeDeadlineSeconds",
			"approximated spec.template.spec.initContainers",
			"note spec.template.spec.containers[*].image",
			"approximated spec.template.spec.tolerations",
			"approximated spec.ttlSecondsAfterFinished",
		},
	}, {
		name:     "work queue runs as one allocation",
		driver:   "raw_exec",
		manifest: spec("  parallelism: 3\n  backoffLimit: 0\n", "      restartPolicy: Never\n", "        command: ['true']\n"),
		check: func(t *testing.T, j *api.Job) {
			eq(t, "count", sp(*j.TaskGroups[0].Count, j.Meta["batchctl:parallelism"]), "1 3")
		},
		fidelity: []string{"approximated spec.completions", "note spec.template.spec.containers[*].image"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			j, fid, err := render(t, tc.driver, tc.manifest)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, j)
			if strings.Join(fid, "\n") != strings.Join(tc.fidelity, "\n") {
				t.Errorf("fidelity:\n%s\nwant:\n%s", strings.Join(fid, "\n"), strings.Join(tc.fidelity, "\n"))
			}
		})
	}
}

// sp prints values separated by spaces.
func sp(vs ...any) string { return strings.TrimSuffix(fmt.Sprintln(vs...), "\n") }

func eq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestTranslateRefuses(t *testing.T) {
	for name, m := range map[string]string{
		"suspend":       spec("  suspend: true\n", "      restartPolicy: Never\n", "        command: ['true']\n"),
		"parallelism 0": spec("  parallelism: 0\n", "      restartPolicy: Never\n", "        command: ['true']\n"),
		"entrypoint":    spec("", "      restartPolicy: Never\n", "        args: [x]\n"),
	} {
		if _, _, err := render(t, "raw_exec", m); !errors.Is(err, backends.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// suspend says why.
	_, _, err := render(t, "raw_exec", spec("  suspend: true\n", "      restartPolicy: Never\n", "        command: ['true']\n"))
	if err == nil || !strings.Contains(err.Error(), "re-runs every allocation, the completed ones too") {
		t.Errorf("suspend: %v", err)
	}
	// docker runs the image's entrypoint.
	if _, _, err := render(t, "docker", spec("", "      restartPolicy: Never\n", "        args: [x]\n")); err != nil {
		t.Errorf("docker without command: %v", err)
	}
}

// The rendered JSON is what `nomad job run -json` reads: {"Job": {...}},
// with no null or empty members, decoding back to the same job.
func TestRenderedJSON(t *testing.T) {
	j, _, err := render(t, "raw_exec", spec("  backoffLimit: 1\n", "      restartPolicy: Never\n", "        command: [echo, hi]\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(nomad.Rendered{Job: j})
	if err != nil {
		t.Fatal(err)
	}
	for _, empty := range []string{"null", `""`, "[]", "{}"} {
		if strings.Contains(string(b), ":"+empty) {
			t.Errorf("rendered JSON has %s members: %s", empty, b)
		}
	}
	var back struct{ Job *api.Job }
	if err := json.Unmarshal(b, &back); err != nil || back.Job == nil {
		t.Fatalf("decode: %v", err)
	}
	want, _ := json.Marshal(j)
	got, _ := json.Marshal(back.Job)
	if string(got) != string(want) {
		t.Errorf("round trip changed the job:\n%s\nwant\n%s", got, want)
	}
}

// renderFull is render with the whole fidelity entries.
func renderFull(t *testing.T, driver, manifest string) (*api.Job, []backends.Fidelity, error) {
	t.Helper()
	j, err := jobspec.Parse("job.yaml", strings.NewReader(manifest))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, manifest)
	}
	b, err := nomad.Open(nomad.Options{Addr: "http://127.0.0.1:1", Driver: driver}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Render(j)
	if err != nil {
		return nil, nil, err
	}
	return r.Native.(nomad.Rendered).Job, r.Fidelity, nil
}

// The Downward API becomes what Nomad fills in when the task starts;
// $(VAR) references to it, in later values and in the command, too.
func TestTranslateEnvFromPod(t *testing.T) {
	j, fid, err := renderFull(t, "raw_exec", spec("  completions: 2\n  completionMode: Indexed\n",
		"      restartPolicy: Never\n      serviceAccountName: runner\n",
		`        command: [sh, -c, 'echo $(POD) ${X} %{y}']
        resources:
          requests: {cpu: 250m}
          limits: {memory: 1Gi}
        env:
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
        - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
        - {name: NONE, valueFrom: {fieldRef: {fieldPath: "metadata.labels['none']"}}}
        - {name: JOBNAME, valueFrom: {fieldRef: {fieldPath: "metadata.labels['job-name']"}}}
        - {name: IDX, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
        - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
        - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
        - {name: CPUREQ, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
        - {name: CPULIM, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
        - {name: MEMREQ, valueFrom: {resourceFieldRef: {resource: requests.memory}}}
        - {name: SECRET, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}
        - {name: REF, value: "$(POD)-$(IDX)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	task := j.TaskGroups[0].Tasks[0]
	want := map[string]string{
		"POD": "${NOMAD_ALLOC_NAME}", "NS": "default", "UID": "${NOMAD_ALLOC_ID}", "TIER": "x", "NONE": "", "JOBNAME": "tr",
		"IDX": "${NOMAD_ALLOC_INDEX}", "NODE": "${node.unique.name}", "SA": "runner", "IP": "${attr.unique.network.ip-address}",
		"MEM": "1024", "CPUREQ": "250", "CPULIM": "${attr.cpu.numcores}", "MEMREQ": "1073741824",
		"REF": "${NOMAD_ALLOC_NAME}-${NOMAD_ALLOC_INDEX}", "JOB_COMPLETION_INDEX": "${NOMAD_ALLOC_INDEX}",
	}
	for k, v := range want {
		if task.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, task.Env[k], v)
		}
	}
	if _, set := task.Env["SECRET"]; set || len(task.Env) != len(want) {
		t.Errorf("env %v: an optional secret stays unset", task.Env)
	}
	eq(t, "args", fmt.Sprint(task.Config["args"]), "[-c echo ${NOMAD_ALLOC_NAME} $${X} %%{y}]")
	var notes []string
	for _, f := range fid {
		if strings.Contains(f.Field, ".env[") {
			notes = append(notes, string(f.Level)+" "+f.Field)
			if f.Outcome {
				t.Errorf("%s changes the outcome: %s", f.Field, f.Message)
			}
		}
	}
	eq(t, "env notes", strings.Join(notes, "; "),
		"note spec.template.spec.containers[0].env[0].valueFrom.fieldRef; note spec.template.spec.containers[0].env[12].valueFrom.resourceFieldRef")
}

// What Nomad cannot give a task is refused, naming the field, never an
// empty value.
func TestTranslateEnvRefuses(t *testing.T) {
	for want, env := range map[string]string{
		`env[0].valueFrom.secretKeyRef (A): the nomad backend has no Secret "s"`:       `        env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]`,
		`env[0].valueFrom.configMapKeyRef (A): the nomad backend has no ConfigMap "c"`: `        env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: k}}}]`,
		`envFrom[0].secretRef: the nomad backend has no Secret "s"`:                    `        envFrom: [{secretRef: {name: s}}]`,
		`envFrom[0].configMapRef: the nomad backend has no ConfigMap "c"`:              `        envFrom: [{configMapRef: {name: c}}]`,
		`controller-uid'] is the job's UID`:                                            `        env: [{name: A, valueFrom: {fieldRef: {fieldPath: "metadata.labels['controller-uid']"}}}]`,
		`the container sets no limits.memory`:                                          `        env: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}]`,
	} {
		_, _, err := renderFull(t, "raw_exec", spec("", "      restartPolicy: Never\n", "        command: ['true']\n"+env+"\n"))
		if !errors.Is(err, backends.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want invalid: %s", env, err, want)
		}
	}
	// Optional ones are left out.
	if _, _, err := renderFull(t, "raw_exec", spec("", "      restartPolicy: Never\n",
		"        command: ['true']\n        envFrom: [{secretRef: {name: s, optional: true}}, {configMapRef: {name: c, optional: true}}]\n")); err != nil {
		t.Errorf("optional envFrom: %v", err)
	}
}

// Entries whose approximation can change the outcome say so (the CLI then
// refuses the job without --allow-approximate); those the judge makes
// exact, or that change only timing or placement, do not.
func TestTranslateOutcome(t *testing.T) {
	for _, tc := range []struct {
		name, extra, pod, container string
		risky                       string // fields with Outcome, in order
	}{{
		name:  "FailJob rules are judged",
		extra: "  completions: 4\n  parallelism: 2\n  podFailurePolicy:\n    rules:\n    - {action: FailJob, onExitCodes: {operator: In, values: [42]}}\n    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}\n",
		pod:   "      restartPolicy: Never\n      tolerations: [{key: k, operator: Exists}]\n",
	}, {
		name:  "ignored exit codes use up Nomad's reschedules",
		extra: "  podFailurePolicy:\n    rules:\n    - {action: Ignore, onExitCodes: {operator: In, values: [3]}}\n",
		pod:   "      restartPolicy: Never\n", risky: "spec.podFailurePolicy",
	}, {
		name:  "success policy, per-index limits, deadline",
		extra: "  completions: 4\n  completionMode: Indexed\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 1\n  activeDeadlineSeconds: 60\n  successPolicy:\n    rules: [{succeededIndexes: '2'}]\n",
		pod:   "      restartPolicy: Never\n      terminationGracePeriodSeconds: 5\n",
	}, {
		name:  "the pod's deadline, volumes",
		pod:   "      restartPolicy: Never\n      activeDeadlineSeconds: 5\n      volumes: [{name: v, emptyDir: {}}]\n",
		risky: "spec.template.spec.volumes, spec.template.spec.activeDeadlineSeconds",
	}, {
		name:      "memory below the limit, a GPU",
		pod:       "      restartPolicy: Never\n",
		container: "        resources:\n          requests: {memory: 100Mi}\n          limits: {memory: 1Gi, nvidia.com/gpu: 1}\n",
		risky:     "spec.template.spec.containers[0].resources",
	}, {
		name:      "a memory limit alone is exact",
		pod:       "      restartPolicy: Never\n",
		container: "        resources:\n          limits: {memory: 1Gi, cpu: 2}\n",
	}, {
		name:  "init containers side by side",
		pod:   "      restartPolicy: Never\n      initContainers:\n      - {name: a, image: x, command: ['true']}\n      - {name: b, image: x, command: ['true']}\n",
		risky: "spec.template.spec.initContainers",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, fid, err := renderFull(t, "raw_exec", spec(tc.extra, tc.pod, "        command: ['true']\n"+tc.container))
			if err != nil {
				t.Fatal(err)
			}
			var risky []string
			for _, f := range fid {
				if f.Outcome {
					risky = append(risky, f.Field)
				}
				if f.Message == "" {
					t.Errorf("%s: no message", f.Field)
				}
			}
			if got := strings.Join(risky, ", "); got != tc.risky {
				t.Errorf("outcome-changing fields %q, want %q", got, tc.risky)
				for _, f := range fid {
					t.Logf("%s %s %v: %s", f.Level, f.Field, f.Outcome, f.Message)
				}
			}
		})
	}
}

// The translation of the retry limits: Kubernetes fails an OnFailure job
// when restarts reach backoffLimit; backoffLimitPerIndex is Nomad's own
// per-index count; no limit is unlimited.
func TestTranslateRetryLimits(t *testing.T) {
	for _, tc := range []struct{ extra, policy, want string }{
		{"  backoffLimit: 3\n", "OnFailure", "restart 2 fail reschedule 0 false"},
		{"  backoffLimit: 1\n", "OnFailure", "restart 0 fail reschedule 0 false"},
		{"  completions: 3\n  completionMode: Indexed\n  backoffLimitPerIndex: 2\n", "Never", "restart 0 fail reschedule 2 false"},
		{"  completions: 3\n  completionMode: Indexed\n  backoffLimitPerIndex: 2\n", "OnFailure", "restart 1 delay reschedule 0 false"},
		{"  backoffLimit: 100000000\n", "Never", "restart 0 fail reschedule 0 true"},
	} {
		j, _, err := render(t, "raw_exec", spec(tc.extra, "      restartPolicy: "+tc.policy+"\n", "        command: ['true']\n"))
		if err != nil {
			t.Fatal(err)
		}
		g := j.TaskGroups[0]
		got := sp("restart", *g.RestartPolicy.Attempts, *g.RestartPolicy.Mode, "reschedule", *g.ReschedulePolicy.Attempts, *g.ReschedulePolicy.Unlimited)
		if got != tc.want {
			t.Errorf("%s%s: %s, want %s", tc.extra, tc.policy, got, tc.want)
		}
	}
}
