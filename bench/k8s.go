//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/batchctl/batchctl/e2e/kube"
)

// benchK8s compares `batchctl submit --wait` with `kubectl create` +
// `kubectl wait --for=condition=complete` on a real control plane, and
// prints the API requests batchctl makes.
func benchK8s(bin string, runs int) error {
	binDir := os.Getenv("BATCHCTL_K8S_BIN")
	kubectl, err := exec.LookPath("kubectl")
	if binDir == "" || err != nil {
		fmt.Println("k8s: control plane not built (BATCHCTL_K8S_BIN) or kubectl missing; skipped")
		return nil
	}
	work, err := os.MkdirTemp("", "batchctl-bench-k8s-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	c, err := kube.Start(context.Background(), kube.Options{BinDir: binDir, WorkDir: work})
	if err != nil {
		return err
	}
	defer c.Stop()
	env := append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	manifest := filepath.Join(work, "job.yaml")
	if err := os.WriteFile(manifest, []byte(k8sJob), 0o600); err != nil {
		return err
	}

	var ours, theirs []sample
	for i := 0; i < runs; i++ {
		s, err := measure(1, env, bin, "submit", "--wait", "-q", "--backend", "k8s", "--name", fmt.Sprintf("bench-b%d", i), manifest)
		if err != nil {
			return err
		}
		ours = append(ours, s)
		name := fmt.Sprintf("bench-k%d", i)
		script := fmt.Sprintf(`sed 's/name: bench/name: %s/' %s | %s create -f - >/dev/null && %s wait --for=condition=complete --timeout=120s job/%s >/dev/null`,
			name, manifest, kubectl, kubectl, name)
		s, err = measure(1, env, "sh", "-c", script)
		if err != nil {
			return err
		}
		theirs = append(theirs, s)
	}
	o, t := medianSample(ours), medianSample(theirs)
	fmt.Println(row{what: "k8s submit --wait (vs kubectl) wall", a: ms(o.wall), b: ms(t.wall), target: 1.0, unit: "ms"})
	fmt.Println(row{what: "k8s submit --wait (vs kubectl) CPU", a: ms(o.cpu), b: ms(t.cpu), target: 0.5, unit: "ms"})

	// What batchctl asks of the API server: one create and one watch for
	// submit --wait; one GET for the status of a 1000-completion job.
	traced := append(env, "BATCHCTL_K8S_TRACE=1")
	out, err := run(traced, bin, "submit", "--wait", "-q", "--backend", "k8s", "--name", "bench-traced", manifest)
	if err != nil {
		return err
	}
	fmt.Println("k8s submit --wait requests:  ", lastLine(out))
	big := strings.Replace(strings.Replace(k8sJob, "completions: 3", "completions: 1000", 1), "parallelism: 3", "parallelism: 100", 1)
	if err := os.WriteFile(manifest, []byte(big), 0o600); err != nil {
		return err
	}
	if _, err := run(env, bin, "submit", "-q", "--backend", "k8s", "--name", "bench-big", manifest); err != nil {
		return err
	}
	// Measure once the job has many pods, so O(1) is shown, not assumed.
	for deadline := time.Now().Add(time.Minute); ; {
		out, err := run(env, bin, "status", "--backend", "k8s", "-o", "json", "bench-big")
		if err != nil {
			return err
		}
		var st struct{ Active, Succeeded int32 }
		if json.Unmarshal([]byte(out), &st) == nil && st.Active+st.Succeeded >= 200 || time.Now().After(deadline) {
			fmt.Printf("k8s status measured at %d active + %d succeeded pods\n", st.Active, st.Succeeded)
			break
		}
	}
	out, err = run(traced, bin, "status", "--backend", "k8s", "bench-big")
	if err != nil {
		return err
	}
	fmt.Println("k8s status, 1000 completions:", lastLine(out))
	return nil
}

// run executes a command and returns its combined output.
func run(env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func medianSample(ss []sample) sample {
	walls := make([]time.Duration, len(ss))
	cpus := make([]time.Duration, len(ss))
	for i, s := range ss {
		walls[i], cpus[i] = s.wall, s.cpu
	}
	return sample{wall: median(walls), cpu: median(cpus)}
}

const k8sJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: bench
spec:
  completions: 3
  parallelism: 3
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          command: ["true"]
`
