//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batchctl/batchctl/e2e/kube"
)

// benchK8s compares batchctl with kubectl on a real control plane: `submit
// --wait` against `kubectl create` + `kubectl wait --for=condition=complete`,
// and `logs` of a 20-pod job against `kubectl logs -l job-name=…`. With the
// real node (BATCHCTL_K8S_NODE=both, as make bench sets it) the pods are real
// containers; on kwok alone they are simulated. It also prints the API
// requests batchctl makes, and the cost of status on a 1000-completion job
// (on the kwok node: a thousand real containers would take minutes here).
func benchK8s(bin string, runs int) error {
	binDir := os.Getenv(kube.BinEnv)
	kubectl, err := findKubectl()
	if binDir == "" || err != nil {
		fmt.Println("k8s: control plane not built (BATCHCTL_K8S_BIN) or kubectl missing; skipped")
		return nil
	}
	node, err := kube.NodeFromEnv()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "batchctl-bench-k8s-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	t0 := time.Now()
	c, err := kube.Start(context.Background(), kube.Options{BinDir: binDir, WorkDir: work, Node: node})
	if err != nil {
		return err
	}
	defer c.Stop()
	pods := "simulated pods (kwok)"
	if c.RealNode() {
		pods = "real pods"
	}
	fmt.Printf("k8s: control plane with %s node up in %v; kubectl is %s\n", node, time.Since(t0).Round(100*time.Millisecond), kubectl)
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
	fmt.Printf("  (%d runs each, medians; 3 completions of `true` at parallelism 3, %s)\n", runs, pods)

	// What batchctl asks of the API server: one create and one watch for
	// submit --wait.
	traced := append(env, "BATCHCTL_K8S_TRACE=1")
	out, err := run(traced, bin, "submit", "--wait", "-q", "--backend", "k8s", "--name", "bench-traced", manifest)
	if err != nil {
		return err
	}
	fmt.Println("k8s submit --wait requests:  ", lastLine(out))

	if err := benchK8sLogs(bin, kubectl, env, work, runs, pods); err != nil {
		return err
	}

	if err := benchK8sWait(bin, kubectl, env, work, node); err != nil {
		return err
	}

	// status of a 1000-completion job, measured once it has many pods, so
	// O(1) is shown, not assumed. On the kwok node: it takes seconds.
	if node == kube.NodeKubelet {
		fmt.Println("k8s status, 1000 completions: needs the kwok node (BATCHCTL_K8S_NODE=both or kwok); skipped")
		return nil
	}
	big := strings.Replace(strings.Replace(k8sJob, "completions: 3", "completions: 1000", 1), "parallelism: 3", "parallelism: 100", 1)
	if node == kube.NodeBoth {
		big = strings.Replace(big, "    spec:\n", "    spec:\n"+onKwok, 1)
	}
	if err := os.WriteFile(manifest, []byte(big), 0o600); err != nil {
		return err
	}
	if _, err := run(env, bin, "submit", "-q", "--backend", "k8s", "--name", "bench-big", manifest); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); ; {
		out, err := run(env, bin, "status", "--backend", "k8s", "-o", "json", "bench-big")
		if err != nil {
			return err
		}
		var st struct{ Active, Succeeded int32 }
		if json.Unmarshal([]byte(out), &st) == nil && st.Active+st.Succeeded >= 200 || time.Now().After(deadline) {
			fmt.Printf("k8s status measured at %d active + %d succeeded pods (kwok)\n", st.Active, st.Succeeded)
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

// benchK8sLogs compares `batchctl logs` of a finished 20-pod job with
// `kubectl logs -l job-name=JOB --prefix --max-log-requests=20 --tail=-1`
// (with a selector kubectl prints only the last 10 lines of each pod unless
// --tail says otherwise), after checking that both print every line.
func benchK8sLogs(bin, kubectl string, env []string, work string, runs int, pods string) error {
	const n, lines = 20, 200
	manifest := filepath.Join(work, "logs.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(k8sLogsJob, n, n, lines)), 0o600); err != nil {
		return err
	}
	if _, err := run(env, bin, "submit", "--wait", "-q", "--backend", "k8s", manifest); err != nil {
		return err
	}
	ourArgv := []string{bin, "logs", "--backend", "k8s", "bench-logs"}
	theirArgv := []string{kubectl, "logs", "-l", "job-name=bench-logs", "--prefix", "--max-log-requests=20", "--tail=-1"}
	for _, argv := range [][]string{ourArgv, theirArgv} {
		out, err := output(env, argv...)
		if err != nil {
			return err
		}
		if err := allLines(out, n, lines); err != nil {
			return fmt.Errorf("%s: %v", filepath.Base(argv[0]), err)
		}
	}
	// Alternate, so a busy moment of the machine costs both the same.
	var ours, theirs []sample
	for i := 0; i < 2*runs+1; i++ {
		s, err := measure(1, env, ourArgv...)
		if err != nil {
			return err
		}
		ours = append(ours, s)
		if s, err = measure(1, env, theirArgv...); err != nil {
			return err
		}
		theirs = append(theirs, s)
	}
	o, t := medianSample(ours), medianSample(theirs)
	fmt.Println(row{what: "k8s logs, 20 pods (vs kubectl) wall", a: ms(o.wall), b: ms(t.wall), target: 1.0, unit: "ms"})
	fmt.Println(row{what: "k8s logs, 20 pods (vs kubectl) CPU", a: ms(o.cpu), b: ms(t.cpu), target: 1.0, unit: "ms"})
	fmt.Printf("  (%d runs each, medians; %d pods × %d lines, all present in both; %s)\n", 2*runs+1, n, lines, pods)
	out, err := run(append(env, "BATCHCTL_K8S_TRACE=1"), ourArgv...)
	if err != nil {
		return err
	}
	fmt.Println("k8s logs, 20 pods, requests:  ", lastLine(out))
	return nil
}

// allLines checks that out holds every line of every pod of the logs job,
// labelled or not.
func allLines(out string, pods, lines int) error {
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "bench-logs line "); i >= 0 {
			seen[l[i:]] = true
		}
	}
	for p := 0; p < pods; p++ {
		for i := 1; i <= lines; i++ {
			if k := fmt.Sprintf("bench-logs line %d of %d", i, p); !seen[k] {
				return fmt.Errorf("missing %q (%d distinct lines seen)", k, len(seen))
			}
		}
	}
	return nil
}

// findKubectl is the kubectl to compare with: on PATH, or, where that is the
// Google Cloud SDK's version dispatcher (which asks the server for its
// version, then runs another binary), the newest real kubectl next to it.
func findKubectl() (string, error) {
	k, err := exec.LookPath("kubectl")
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(k)
	if err != nil {
		return k, nil
	}
	versioned, _ := filepath.Glob(real + ".1.*")
	sort.Slice(versioned, func(i, j int) bool { return minor(versioned[i]) < minor(versioned[j]) })
	if len(versioned) > 0 {
		return versioned[len(versioned)-1], nil
	}
	return k, nil
}

func minor(path string) int {
	n, _ := strconv.Atoi(path[strings.LastIndexByte(path, '.')+1:])
	return n
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

// output executes a command and returns its stdout.
func output(env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
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
          image: busybox:1.36
          command: ["true"]
`

// onKwok sends a pod to the kwok node next to the real one.
const onKwok = `      nodeSelector: {type: kwok}
      tolerations: [{key: batchctl.dev/simulated, operator: Exists, effect: NoSchedule}]
`

const k8sLogsJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: bench-logs
spec:
  completions: %d
  parallelism: %d
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
          command: ["sh", "-c", "i=1; while [ $i -le %d ]; do echo \"bench-logs line $i of $JOB_COMPLETION_INDEX\"; i=$((i+1)); done"]
`
