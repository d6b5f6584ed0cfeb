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
			eq(t, "meta", fmt.Sprint(j.Meta), "map[app.kubernetes.io/managed-by:batchctl batchctl:annotation:note:hi batchctl:completion-mode:NonIndexed batchctl:parallelism:3 team:a]")
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
			eq(t, "restart", sp(*g.RestartPolicy.Attempts, *g.RestartPolicy.Mode, *g.RestartPolicy.Delay), "2 fail 10s")
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
			eq(t, "deadline meta", j.Meta["batchctl:active-deadline-seconds"], "60")
		},
		fidelity: []string{
			"approximated spec.parallelism",
			"approximated spec.activeDeadlineSeconds",
			"approximated spec.template.spec.initContainers",
			"note spec.template.spec.containers[*].image",
			"approximated spec.template.spec.containers[0].command",
			"unsupported spec.template.spec.tolerations",
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
