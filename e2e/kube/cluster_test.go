//go:build linux

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClusterRunsJobs starts the real control plane (binaries from
// BATCHCTL_K8S_BIN, see make k8s-tools) and checks what batchctl's k8s
// backend relies on: jobs complete and fail as their annotations say, logs
// come through kwok, the API server survives a restart, Stop leaves nothing.
func TestClusterRunsJobs(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	c := ForTest(t)
	t.Logf("up in %v", time.Since(t0).Round(time.Millisecond))

	t.Run("completions=3 completes", func(t *testing.T) {
		t0 := time.Now()
		createJob(t, c, "ok", 3, 6, nil)
		j := waitJob(t, c, "ok", 60*time.Second)
		if j.cond != "Complete" || j.Succeeded != 3 {
			t.Fatalf("job: %+v", j)
		}
		t.Logf("completions=3 job Complete in %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("exit code 3 fails with BackoffLimitExceeded", func(t *testing.T) {
		t0 := time.Now()
		createJob(t, c, "bad", 1, 1, map[string]string{AnnotationExitCode: "3"})
		j := waitJob(t, c, "bad", 60*time.Second)
		if j.cond != "Failed" || j.reason != "BackoffLimitExceeded" {
			t.Fatalf("job: %+v", j)
		}
		t.Logf("failing job Failed/%s in %v", j.reason, time.Since(t0).Round(time.Millisecond))
		pods := jobPods(t, c, "bad")
		if len(pods) != 2 {
			t.Fatalf("want 2 pods (backoffLimit 1), got %d", len(pods))
		}
		for _, p := range pods {
			if p.Status.Phase != "Failed" || len(p.Status.ContainerStatuses) != 1 {
				t.Fatalf("pod %s: %+v", p.Metadata.Name, p.Status)
			}
			term := p.Status.ContainerStatuses[0].State.Terminated
			if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
				t.Fatalf("pod %s terminated: %+v", p.Metadata.Name, term)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		pod := jobPods(t, c, "ok")[0].Metadata.Name
		code, b, err := c.Do(ctx, "GET", "/api/v1/namespaces/default/pods/"+pod+"/log", nil)
		if err != nil || code != 200 || strings.TrimSpace(string(b)) != CannedLogLine {
			t.Fatalf("log of %s: HTTP %d %v: %q", pod, code, err, b)
		}
		if _, err := exec.LookPath("kubectl"); err != nil {
			t.Skip("no kubectl")
		}
		out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "logs", pod).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != CannedLogLine {
			t.Fatalf("kubectl logs %s: %v: %q", pod, err, out)
		}
	})

	t.Run("duration annotation and API server restart", func(t *testing.T) {
		t0 := time.Now()
		createJob(t, c, "slow", 1, 0, map[string]string{AnnotationDuration: "3s"})
		waitPodPhase(t, c, "slow", "Running", 30*time.Second)
		if err := c.RestartAPIServer(); err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, c, "slow", 60*time.Second)
		d := time.Since(t0)
		if j.cond != "Complete" || d < 3*time.Second {
			t.Fatalf("job after %v: %+v", d, j)
		}
		t.Logf("3s job across an API server restart Complete in %v", d.Round(time.Millisecond))
		t.Logf("RSS: %s", c.rss())
	})

	t.Run("stop leaves no process", func(t *testing.T) {
		var pids []int
		for _, p := range c.procs {
			pids = append(pids, p.cmd.Process.Pid)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				t.Errorf("pid %d still exists", pid)
			}
		}
	})
}

type jobState struct {
	Succeeded, Failed int
	cond, reason      string
}

type pod struct {
	Metadata struct{ Name string }
	Status   struct {
		Phase             string
		ContainerStatuses []struct {
			State struct {
				Terminated *struct {
					ExitCode int
					Reason   string
				}
			}
		}
	}
}

func createJob(t *testing.T, c *Cluster, name string, completions, backoffLimit int, annotations map[string]string) {
	t.Helper()
	ann, _ := json.Marshal(annotations)
	job := fmt.Sprintf(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":%q},
	"spec":{"completions":%d,"backoffLimit":%d,"template":{"metadata":{"annotations":%s},
	"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox","command":["true"]}]}}}}`,
		name, completions, backoffLimit, ann)
	code, b, err := c.Do(context.Background(), "POST", "/apis/batch/v1/namespaces/default/jobs", []byte(job))
	if err != nil || code != 201 {
		t.Fatalf("create job %s: HTTP %d %v: %s", name, code, err, b)
	}
}

// waitJob polls until the job has a Complete or Failed condition.
func waitJob(t *testing.T, c *Cluster, name string, timeout time.Duration) jobState {
	t.Helper()
	var js jobState
	poll(t, timeout, "job "+name+" finished", func() bool {
		code, b, err := c.Do(context.Background(), "GET", "/apis/batch/v1/namespaces/default/jobs/"+name, nil)
		if err != nil || code != 200 {
			return false
		}
		var j struct {
			Status struct {
				Succeeded, Failed int
				Conditions        []struct{ Type, Status, Reason string }
			}
		}
		if json.Unmarshal(b, &j) != nil {
			return false
		}
		js = jobState{Succeeded: j.Status.Succeeded, Failed: j.Status.Failed}
		for _, cd := range j.Status.Conditions {
			if (cd.Type == "Complete" || cd.Type == "Failed") && cd.Status == "True" {
				js.cond, js.reason = cd.Type, cd.Reason
				return true
			}
		}
		return false
	})
	return js
}

func jobPods(t *testing.T, c *Cluster, job string) []pod {
	t.Helper()
	code, b, err := c.Do(context.Background(), "GET", "/api/v1/namespaces/default/pods?labelSelector=job-name%3D"+job, nil)
	var list struct{ Items []pod }
	if err != nil || code != 200 || json.Unmarshal(b, &list) != nil || len(list.Items) == 0 {
		t.Fatalf("pods of %s: HTTP %d %v: %.300s", job, code, err, b)
	}
	return list.Items
}

func waitPodPhase(t *testing.T, c *Cluster, job, phase string, timeout time.Duration) {
	t.Helper()
	poll(t, timeout, "a pod of "+job+" "+phase, func() bool {
		code, b, err := c.Do(context.Background(), "GET", "/api/v1/namespaces/default/pods?labelSelector=job-name%3D"+job, nil)
		var list struct{ Items []pod }
		if err != nil || code != 200 || json.Unmarshal(b, &list) != nil {
			return false
		}
		for _, p := range list.Items {
			if p.Status.Phase == phase {
				return true
			}
		}
		return false
	})
}

func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// rss sums VmRSS of the cluster's processes, for the report.
func (c *Cluster) rss() string {
	var parts []string
	total := 0
	for _, p := range c.procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				total += kb
				parts = append(parts, fmt.Sprintf("%s %d MiB", p.name, kb/1024))
			}
		}
	}
	return fmt.Sprintf("%d MiB (%s)", total/1024, strings.Join(parts, ", "))
}
