package nomad_test

import (
	"fmt"
	"strings"
	"testing"
)

// dockerSpec is a one-container job; container lines go under the container.
func dockerSpec(restartPolicy, image, container string) string {
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: tr}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: %s
      containers:
      - name: main
        image: %s
%s`, restartPolicy, image, container)
}

func TestTranslateDockerPullPolicy(t *testing.T) {
	for _, tc := range []struct {
		image, policy string
		forcePull     bool
		fidelity      string // besides the backoffLimit note
	}{
		{image: "app:1", policy: ""},
		{image: "app", policy: ""}, // Kubernetes' default is Always for latest; so is Nomad's
		{image: "app:1", policy: "Always", forcePull: true},
		{image: "app:1", policy: "IfNotPresent"},
		{image: "app@sha256:0123456789012345678901234567890123456789012345678901234567890123", policy: "IfNotPresent"},
		{image: "registry:5000/app", policy: "IfNotPresent", fidelity: "approximated spec.template.spec.containers[0].imagePullPolicy"},
		{image: "app:latest", policy: "Never", fidelity: "approximated spec.template.spec.containers[0].imagePullPolicy"},
		{image: "app:1", policy: "Never", fidelity: "approximated spec.template.spec.containers[0].imagePullPolicy"},
	} {
		t.Run(tc.image+"/"+tc.policy, func(t *testing.T) {
			lines := "        command: [/app]\n"
			if tc.policy != "" {
				lines += "        imagePullPolicy: " + tc.policy + "\n"
			}
			j, fid, err := render(t, "docker", dockerSpec("Never", tc.image, lines))
			if err != nil {
				t.Fatal(err)
			}
			cfg := j.TaskGroups[0].Tasks[0].Config
			if got := cfg["force_pull"] == true; got != tc.forcePull {
				t.Errorf("force_pull %v, want %v: %v", cfg["force_pull"], tc.forcePull, cfg)
			}
			want := "note spec.backoffLimit"
			if tc.fidelity != "" {
				want += "\n" + tc.fidelity
			}
			if got := strings.Join(fid, "\n"); got != want {
				t.Errorf("fidelity:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	// The other drivers run no image: its pull policy is ignored, which
	// changes only how soon the task starts.
	_, fid, err := render(t, "raw_exec", dockerSpec("Never", "app:1", "        command: [/app]\n        imagePullPolicy: Always\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fid, "\n"); !strings.Contains(got, "approximated spec.template.spec.containers[0].imagePullPolicy") {
		t.Errorf("raw_exec fidelity:\n%s", got)
	}
}

// A docker command that starts a shell runs through that same shell, which
// waits half a second (hashicorp/nomad#6931) and, under OnFailure, writes
// the run marker; any other command keeps its argv, and OnFailure names it.
func TestTranslateDockerShellWrapper(t *testing.T) {
	for _, tc := range []struct {
		name, policy, container, entrypoint, args, fidelity string
	}{{
		name:       "shell, Never",
		policy:     "Never",
		container:  "        command: [sh, -c, 'exit $0']\n        args: ['3']\n",
		entrypoint: "[sh -c " + holdScript + " batchctl sh -c exit $0]",
		args:       "[3]",
		fidelity:   "note spec.template.spec.containers[0].command",
	}, {
		name:       "shell",
		container:  "        command: [/bin/sh, -c, 'exit $0']\n        args: ['3']\n",
		entrypoint: "[/bin/sh -c " + markScript + holdScript + " batchctl /bin/sh -c exit $0]",
		args:       "[3]",
		fidelity:   "note spec.template.spec.containers[0].command\nemulated spec.template.spec.restartPolicy",
	}, {
		name:       "no shell",
		container:  "        command: [/app]\n",
		entrypoint: "[/app]",
		args:       "<nil>",
		fidelity:   "note spec.template.spec.restartPolicy",
	}, {
		name:       "image entrypoint",
		container:  "        args: [x]\n",
		entrypoint: "<nil>",
		args:       "[x]",
		fidelity:   "note spec.template.spec.restartPolicy",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.policy == "" {
				tc.policy = "OnFailure"
			}
			j, fid, err := render(t, "docker", dockerSpec(tc.policy, "app:1", tc.container))
			if err != nil {
				t.Fatal(err)
			}
			cfg := j.TaskGroups[0].Tasks[0].Config
			eq(t, "entrypoint", fmt.Sprint(cfg["entrypoint"]), tc.entrypoint)
			eq(t, "args", fmt.Sprint(cfg["args"]), tc.args)
			eq(t, "fidelity", strings.Join(fid, "\n"), "note spec.backoffLimit\n"+tc.fidelity)
		})
	}
}

// translate.go's scripts: the run marker, and the half-second hold.
const (
	markScript = `printf '\036batchctl-run\n'; printf '\036batchctl-run\n' >&2; `
	holdScript = `{ sleep 0.5 || sleep 1; } 2>/dev/null; exec "$@"`
)
