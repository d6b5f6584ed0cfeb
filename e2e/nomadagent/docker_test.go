//go:build unix

package nomadagent

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/e2e/dockerd"
)

// With the private test daemon (make test), the agent's docker driver runs
// a locally built image, with no registry to pull from, and reports the
// container's exit code and output.
func TestDockerDriver(t *testing.T) {
	d := dockerd.ForTest(t)
	a := agentFor(t, false)
	if a.DockerHost != d.Host {
		t.Fatalf("docker driver on %q, want the test daemon %s", a.DockerHost, d.Host)
	}
	job := batchJob("docker", 1, "")
	task := job["Job"].(map[string]any)["TaskGroups"].([]map[string]any)[0]["Tasks"].([]map[string]any)[0]
	task["Driver"] = "docker"
	// Alive for a moment: the driver may miss the output of a container
	// that exits at once (hashicorp/nomad#6931).
	task["Config"] = map[string]any{"image": dockerd.BusyboxImage, "command": "sh", "args": []string{"-c", "sleep 0.5; echo out-$NOMAD_ALLOC_INDEX; exit 3"}}
	run(t, a, job, func(c, f, r int) bool { return f == 1 })
	allocs := failedWithExit3(t, a, "docker", 1)

	resp, err := httpClient.Get(a.Addr + "/v1/client/fs/logs/" + allocs[0].ID + "?task=t&type=stdout&plain=true&origin=start")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(out)) != "out-0" {
		t.Errorf("logs: %s %q", resp.Status, out)
	}
	stopClean(t, a)

	// Stop purged the job: its container is gone from the daemon.
	var cs []struct{ Labels map[string]string }
	if err := d.Do(context.Background(), "GET", "/containers/json?all=1", nil, &cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Labels["com.hashicorp.nomad.alloc_id"] == allocs[0].ID {
			t.Errorf("container of allocation %s left after Stop", allocs[0].ID)
		}
	}
}
